package logexport

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

// CSVHeader is the header row of a csv export.
var CSVHeader = []string{"id", "tenantId", "level", "source", "message", "metadata", "createdAt"}

// encoder writes entries in one format.
type encoder interface {
	begin() error
	entry(e *logstore.RawEntry) error
	end() error
}

func newEncoder(f Format, w *bufio.Writer) (encoder, error) {
	switch f {
	case FormatCSV:
		return newCSVEncoder(w), nil
	case FormatJSON:
		return &jsonEncoder{w: w}, nil
	case FormatNDJSON:
		return &jsonEncoder{w: w, lines: true}, nil
	}
	return nil, fmt.Errorf("logexport: format %q: %w", f, logs.ErrInvalid)
}

// newCSVEncoder makes the encoder of the csv format (a variable for the
// benchmark that compares it with encoding/csv).
var newCSVEncoder = func(w *bufio.Writer) encoder { return &csvEncoder{w: w} }

// csvEncoder writes RFC 4180: CRLF after every record, a field quoted when
// it holds a comma, a quote, CR or LF or starts with a space or tab (as
// encoding/csv decides), quotes doubled inside, every other byte kept as it
// is. It writes straight into the buffered writer: no second pass over the
// output, no allocation for a field that needs no neutralising.
//
// It is not encoding/csv because that, with UseCRLF (which RFC 4180's
// record ends need), drops a carriage return inside a field that no line
// feed follows, and writes a line feed as CRLF: a message would lose bytes.
// Its speed is not the reason: BenchmarkEncodeCSV measures both, and the
// difference is a few percent of an export.
type csvEncoder struct {
	w *bufio.Writer
}

func (c *csvEncoder) begin() error {
	_, err := c.w.WriteString(strings.Join(CSVHeader, ",") + "\r\n")
	return err
}

func (c *csvEncoder) entry(r *logstore.RawEntry) error {
	e, md := &r.Entry, r.Metadata
	if len(md) == 0 {
		md = json.RawMessage("{}")
	}
	c.text(e.ID, ',')
	c.text(e.TenantID, ',')
	c.text(string(e.Level), ',')
	c.text(e.Source, ',')
	c.text(e.Message, ',')
	c.field(md, true, ',') // a JSON object: never a formula
	var ts [40]byte
	c.field(e.CreatedAt.UTC().AppendFormat(ts[:0], logs.TimeFormat), false, '\r')
	return c.w.WriteByte('\n')
}

// text writes a neutralised text field and then sep.
func (c *csvEncoder) text(s string, sep byte) {
	if needsNeutralizing(s) {
		s = "'" + s // rare: the allocation is fine
	}
	c.fieldString(s, sep)
}

func (c *csvEncoder) fieldString(s string, sep byte) {
	if !csvNeedsQuotes(s) {
		c.w.WriteString(s)
		c.w.WriteByte(sep)
		return
	}
	c.w.WriteByte('"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		c.w.WriteString(s[:i+1])
		c.w.WriteByte('"')
		s = s[i+1:]
	}
	c.w.WriteString(s)
	c.w.WriteByte('"')
	c.w.WriteByte(sep)
}

func (c *csvEncoder) field(b []byte, quote bool, sep byte) {
	if quote || csvNeedsQuotes(string(b)) {
		c.fieldString(string(b), sep)
		return
	}
	c.w.Write(b)
	c.w.WriteByte(sep)
}

func (c *csvEncoder) end() error { return nil }

// csvNeedsQuotes is encoding/csv's rule with the comma as delimiter.
func csvNeedsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s == `\.` || s[0] == ' ' || s[0] == '\t' {
		return true
	}
	if strings.ContainsAny(s, ",\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
}

func needsNeutralizing(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// Neutralize returns a CSV cell that a spreadsheet will not run as a
// formula: a value that begins with = + - @, a tab or a carriage return gets
// a leading single quote. Other values are returned as they are.
func Neutralize(s string) string {
	if needsNeutralizing(s) {
		return "'" + s
	}
	return s
}

// jsonEncoder writes one JSON array with an entry per line, or with lines
// set, NDJSON.
type jsonEncoder struct {
	w     *bufio.Writer
	lines bool
	n     int
	buf   []byte // one entry's JSON, reused
}

func (j *jsonEncoder) begin() error {
	if j.lines {
		return nil
	}
	_, err := j.w.WriteString("[")
	return err
}

func (j *jsonEncoder) entry(r *logstore.RawEntry) error {
	b, err := logs.AppendJSON(j.buf[:0], &r.Entry, r.Metadata)
	if err != nil {
		return fmt.Errorf("logexport: entry %s: %w: %w", r.Entry.ID, logs.ErrInternal, err)
	}
	j.buf = b
	if !j.lines {
		sep := ",\n"
		if j.n == 0 {
			sep = "\n"
		}
		if _, err := j.w.WriteString(sep); err != nil {
			return err
		}
	}
	j.n++
	if _, err := j.w.Write(b); err != nil {
		return err
	}
	if j.lines {
		return j.w.WriteByte('\n')
	}
	return nil
}

func (j *jsonEncoder) end() error {
	if j.lines {
		return nil
	}
	end := "\n]\n"
	if j.n == 0 {
		end = "]\n"
	}
	_, err := j.w.WriteString(end)
	return err
}
