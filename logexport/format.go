package logexport

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"

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
		// encoding/csv's UseCRLF drops every CR inside a field and turns
		// LF into CRLF; instead the record ends alone become CRLF, so that
		// the file is RFC 4180 and the data exact.
		cw := csv.NewWriter(&crlfWriter{w: w})
		return &csvEncoder{w: cw, rec: make([]string, len(CSVHeader))}, nil
	case FormatJSON:
		return &jsonEncoder{w: w}, nil
	case FormatNDJSON:
		return &jsonEncoder{w: w, lines: true}, nil
	}
	return nil, fmt.Errorf("logexport: format %q: %w", f, logs.ErrInvalid)
}

type csvEncoder struct {
	w   *csv.Writer
	rec []string
}

func (c *csvEncoder) begin() error { return c.w.Write(CSVHeader) }

func (c *csvEncoder) entry(r *logstore.RawEntry) error {
	e, md := &r.Entry, r.Metadata
	if len(md) == 0 {
		md = json.RawMessage("{}")
	}
	c.rec[0] = Neutralize(e.ID)
	c.rec[1] = Neutralize(e.TenantID)
	c.rec[2] = Neutralize(string(e.Level))
	c.rec[3] = Neutralize(e.Source)
	c.rec[4] = Neutralize(e.Message)
	c.rec[5] = Neutralize(string(md))
	c.rec[6] = logs.FormatTime(e.CreatedAt)
	return c.w.Write(c.rec)
}

func (c *csvEncoder) end() error {
	c.w.Flush()
	return c.w.Error()
}

// crlfWriter turns the LF that ends a record of encoding/csv's output into
// CRLF. A field that holds CR, LF or a quote is quoted by encoding/csv, so an
// LF outside quotes ends a record; quotes inside a quoted field are doubled,
// which toggles the state twice.
type crlfWriter struct {
	w        *bufio.Writer
	inQuotes bool
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	start := 0
	for i, b := range p {
		switch b {
		case '"':
			c.inQuotes = !c.inQuotes
		case '\n':
			if !c.inQuotes {
				if _, err := c.w.Write(p[start:i]); err != nil {
					return 0, err
				}
				if _, err := c.w.WriteString("\r\n"); err != nil {
					return 0, err
				}
				start = i + 1
			}
		}
	}
	if _, err := c.w.Write(p[start:]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Neutralize returns a CSV cell that a spreadsheet will not run as a
// formula: a value that begins with = + - @, a tab or a carriage return gets
// a leading single quote. Other values are returned as they are.
func Neutralize(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
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
}

func (j *jsonEncoder) begin() error {
	if j.lines {
		return nil
	}
	_, err := j.w.WriteString("[")
	return err
}

// rawEntryJSON is logs.Entry's JSON with the metadata copied as stored.
type rawEntryJSON struct {
	ID        string          `json:"id"`
	TenantID  string          `json:"tenantId"`
	Level     logs.Level      `json:"level"`
	Source    string          `json:"source"`
	Message   string          `json:"message"`
	Metadata  json.RawMessage `json:"metadata"`
	CreatedAt string          `json:"createdAt"`
}

func (j *jsonEncoder) entry(r *logstore.RawEntry) error {
	e, md := &r.Entry, r.Metadata
	if len(md) == 0 {
		md = json.RawMessage("{}")
	}
	b, err := json.Marshal(rawEntryJSON{ID: e.ID, TenantID: e.TenantID, Level: e.Level, Source: e.Source,
		Message: e.Message, Metadata: md, CreatedAt: logs.FormatTime(e.CreatedAt)})
	if err != nil {
		return fmt.Errorf("logexport: entry %s: %w: %w", e.ID, logs.ErrInternal, err)
	}
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
