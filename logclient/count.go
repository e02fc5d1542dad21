package logclient

import (
	"errors"
	"fmt"

	"github.com/ithbat/logs"
)

// recordCounter counts the entries of an export file as its bytes pass.
type recordCounter interface {
	Write(p []byte)
	Records() int64 // complete records so far
	Close() int64   // the count once the file is complete
	Err() error     // the file was not well formed
}

func newRecordCounter(f Format) (recordCounter, error) {
	switch f {
	case CSV:
		return &csvCounter{lineStart: true}, nil
	case JSON:
		return &jsonCounter{}, nil
	case NDJSON:
		return &ndjsonCounter{}, nil
	}
	return nil, logs.Invalid("format", "must be csv, json or ndjson; got %q", oneLine(string(f), 20))
}

// csvCounter counts the records of RFC 4180 CSV after its header:
// line ends outside quotes.
type csvCounter struct {
	inQuotes  bool
	lineStart bool
	lines     int64 // complete records, the header included
	partial   bool  // bytes after the last record end
}

func (c *csvCounter) Write(p []byte) {
	for _, b := range p {
		switch {
		case b == '"':
			c.inQuotes = !c.inQuotes
			c.partial = true
		case b == '\n' && !c.inQuotes:
			c.lines++
			c.partial = false
		case b != '\r':
			c.partial = true
		}
	}
}

func (c *csvCounter) Records() int64 { return max(c.lines-1, 0) }

func (c *csvCounter) Close() int64 {
	if c.partial && !c.inQuotes {
		c.lines++
		c.partial = false
	}
	return c.Records()
}

func (c *csvCounter) Err() error {
	switch {
	case c.inQuotes:
		return errors.New("it ends inside a quoted field")
	case c.lines == 0:
		return errors.New("it has no header line")
	}
	return nil
}

// jsonCounter counts the objects at depth 1 of a JSON array.
type jsonCounter struct {
	depth    int
	inString bool
	escape   bool
	started  bool // the array opened
	closed   bool // and closed
	n        int64
	err      error
}

func (c *jsonCounter) Write(p []byte) {
	for _, b := range p {
		if c.err != nil {
			return
		}
		if c.inString {
			switch {
			case c.escape:
				c.escape = false
			case b == '\\':
				c.escape = true
			case b == '"':
				c.inString = false
			}
			continue
		}
		switch b {
		case '"':
			c.inString = true
		case '[', '{':
			if c.closed || (!c.started && b != '[') {
				c.err = fmt.Errorf("unexpected %q outside the array", b)
				return
			}
			if !c.started {
				c.started = true
			} else if c.depth == 1 && b == '{' {
				c.n++
			}
			c.depth++
		case ']', '}':
			c.depth--
			if c.depth < 0 {
				c.err = fmt.Errorf("unbalanced %q", b)
				return
			}
			if c.depth == 0 {
				c.closed = true
			}
		}
	}
}

func (c *jsonCounter) Records() int64 { return c.n }
func (c *jsonCounter) Close() int64   { return c.n }
func (c *jsonCounter) Err() error {
	if c.err == nil && (!c.closed || c.inString) {
		return errors.New("the JSON array is not complete")
	}
	return c.err
}

// ndjsonCounter counts non-empty lines (an entry's JSON has no line
// break of its own).
type ndjsonCounter struct {
	n       int64
	partial bool
}

func (c *ndjsonCounter) Write(p []byte) {
	for _, b := range p {
		switch b {
		case '\n':
			if c.partial {
				c.n++
			}
			c.partial = false
		case ' ', '\t', '\r':
		default:
			c.partial = true
		}
	}
}

func (c *ndjsonCounter) Records() int64 { return c.n }
func (c *ndjsonCounter) Close() int64 {
	if c.partial {
		c.n++
		c.partial = false
	}
	return c.n
}
func (c *ndjsonCounter) Err() error { return nil }
