package logexport

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

// Hooks for the tests of package logexport_test.

// SetRowHook makes the worker call f after each row it writes, with the
// job's context (it ends when the job is canceled: deadline, lost lease,
// Close).
func SetRowHook(e *Exporter, f func(ctx context.Context, n int64)) { e.rowHook = f }

// SetNow replaces the Exporter's clock.
func SetNow(e *Exporter, now func() time.Time) { e.now = now }

// RunOnce claims and runs one job, as a worker does.
func RunOnce(ctx context.Context, e *Exporter) (bool, error) { return e.runOnce(ctx) }

// Sweep runs the janitor once.
func Sweep(ctx context.Context, e *Exporter) error { return e.sweep(ctx) }

// BlobKey is the key of a job's file.
func BlobKey(tenant, id string, f Format) string { return blobKey(tenant, id, f) }

// NewTestEncoder returns a function that encodes one entry in format f
// into w (buffered).
func NewTestEncoder(f Format, w io.Writer) func(*logs.Entry) error {
	enc, err := newEncoder(f, bufio.NewWriterSize(w, 1<<20))
	if err != nil {
		panic(err)
	}
	return func(e *logs.Entry) error {
		md, err := logs.EncodeMetadata(e.Metadata)
		if err != nil {
			return err
		}
		r := logstore.RawEntry{Entry: *e, Metadata: md}
		r.Entry.Metadata = nil
		return enc.entry(&r)
	}
}

// NewTestRawEncoder is NewTestEncoder for entries as the store keeps them.
func NewTestRawEncoder(f Format, w io.Writer) func(*logstore.RawEntry) error {
	enc, err := newEncoder(f, bufio.NewWriterSize(w, 1<<20))
	if err != nil {
		panic(err)
	}
	return enc.entry
}

// NewTestFileEncoder returns the encoder of a whole file in format f into w:
// enc writes one entry, done ends the file and flushes it.
func NewTestFileEncoder(f Format, w io.Writer) (enc func(*logstore.RawEntry) error, done func() error) {
	bw := bufio.NewWriter(w)
	e, err := newEncoder(f, bw)
	if err != nil {
		panic(err)
	}
	begun := false
	begin := func() error {
		if begun {
			return nil
		}
		begun = true
		return e.begin()
	}
	return func(r *logstore.RawEntry) error {
			if err := begin(); err != nil {
				return err
			}
			return e.entry(r)
		}, func() error {
			if err := begin(); err != nil {
				return err
			}
			if err := e.end(); err != nil {
				return err
			}
			return bw.Flush()
		}
}

// stdCSVEncoder is the csv format written with encoding/csv, beside the
// hand-written csvEncoder, for BenchmarkEncodeCSV: the same header, CRLF
// after records, the same neutralising. It differs in one way: with
// UseCRLF, encoding/csv writes a line feed inside a field as CRLF and
// drops a carriage return that is not followed by one, so a message with
// a lone CR loses it (see TestCSVEncodersAgree).
type stdCSVEncoder struct {
	w   *csv.Writer
	rec [7]string
}

func newStdCSVEncoder(w *bufio.Writer) *stdCSVEncoder {
	cw := csv.NewWriter(w) // takes w itself: it is a bufio.Writer large enough
	cw.UseCRLF = true
	return &stdCSVEncoder{w: cw}
}

func (c *stdCSVEncoder) begin() error { return c.w.Write(CSVHeader) }

func (c *stdCSVEncoder) entry(r *logstore.RawEntry) error {
	e := &r.Entry
	md := "{}"
	if len(r.Metadata) > 0 {
		md = string(r.Metadata)
	}
	c.rec = [7]string{Neutralize(e.ID), Neutralize(e.TenantID), Neutralize(string(e.Level)), Neutralize(e.Source),
		Neutralize(e.Message), md, logs.FormatTime(e.CreatedAt)}
	return c.w.Write(c.rec[:])
}

func (c *stdCSVEncoder) end() error {
	c.w.Flush()
	return c.w.Error()
}

// CSVEncoders returns the csv encoders by name, each writing whole files
// into w like NewTestFileEncoder: "hand-written" (the export's) and
// "encoding/csv".
func CSVEncoders() map[string]func(w io.Writer) (enc func(*logstore.RawEntry) error, done func() error) {
	file := func(mk func(*bufio.Writer) encoder) func(w io.Writer) (func(*logstore.RawEntry) error, func() error) {
		return func(w io.Writer) (func(*logstore.RawEntry) error, func() error) {
			bw := bufio.NewWriterSize(w, 1<<20)
			e := mk(bw)
			begun := false
			begin := func() error {
				if begun {
					return nil
				}
				begun = true
				return e.begin()
			}
			return func(r *logstore.RawEntry) error {
					if err := begin(); err != nil {
						return err
					}
					return e.entry(r)
				}, func() error {
					if err := begin(); err != nil {
						return err
					}
					if err := e.end(); err != nil {
						return err
					}
					return bw.Flush()
				}
		}
	}
	return map[string]func(w io.Writer) (func(*logstore.RawEntry) error, func() error){
		"hand-written": file(func(w *bufio.Writer) encoder { return &csvEncoder{w: w} }),
		"encoding/csv": file(func(w *bufio.Writer) encoder { return newStdCSVEncoder(w) }),
	}
}

// UseCSVEncoder makes every export write csv with the encoder named as in
// CSVEncoders, until the returned function is called.
func UseCSVEncoder(name string) (restore func()) {
	old := newCSVEncoder
	switch name {
	case "hand-written":
		newCSVEncoder = func(w *bufio.Writer) encoder { return &csvEncoder{w: w} }
	case "encoding/csv":
		newCSVEncoder = func(w *bufio.Writer) encoder { return newStdCSVEncoder(w) }
	default:
		panic("logexport: no csv encoder " + name)
	}
	return func() { newCSVEncoder = old }
}
