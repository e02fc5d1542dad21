package logexport

import (
	"bufio"
	"context"
	"io"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

// Hooks for the tests of package logexport_test.

// SetRowHook makes the worker call f after each row it writes.
func SetRowHook(e *Exporter, f func(n int64)) { e.rowHook = f }

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
