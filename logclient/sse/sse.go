// Package sse reads the Server-Sent Events wire format ("text/event-stream"
// of the HTML standard, section 9.2) as a browser's EventSource does. It is
// the project's one SSE reader: logclient's Stream reads the live stream
// with it, and so do the tests of the server.
//
// # Errors
//
// Next returns the reader's error, io.EOF when the stream ended cleanly
// after a complete block, io.ErrUnexpectedEOF when it ended inside one, or
// [ErrTooLarge] when a block is larger than the reader's limit (a hostile
// or broken server cannot make it hold more than that).
//
// # Concurrency
//
// A Reader is not safe for concurrent use.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// Block is what one blank-line-terminated block of the stream carried.
// A block whose data is empty does not dispatch an event in a browser
// (Dispatched is false), but its id still updates LastEventID.
type Block struct {
	Event       string        // the event type; "message" when none was given
	Data        string        // data lines joined with "\n"
	HasID       bool          // the block had an id field
	LastEventID string        // the reader's last event id after this block
	Retry       time.Duration // a valid retry field of the block, else 0
	Comments    []string      // comment lines, without the leading colon
	Dispatched  bool          // a browser would dispatch an event for it
}

// DefaultMaxBlock is the limit of a Reader on the bytes of one block: far
// more than the largest log entry's event.
const DefaultMaxBlock = 8 << 20

// ErrTooLarge is returned by Next for a block larger than the limit.
var ErrTooLarge = errors.New("sse: block larger than the reader's limit")

// Reader parses blocks from a stream.
type Reader struct {
	r           *bufio.Reader
	lastEventID string
	pendingCR   bool
	max, n      int // the limit of a block's bytes, and the current block's
}

// NewReader reads from r, with blocks of at most [DefaultMaxBlock] bytes.
func NewReader(r io.Reader) *Reader { return NewReaderSize(r, DefaultMaxBlock) }

// NewReaderSize reads from r, with blocks of at most max bytes (line
// terminators included).
func NewReaderSize(r io.Reader, max int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// LastEventID is the id a reconnecting client would send.
func (r *Reader) LastEventID() string { return r.lastEventID }

// line returns the next line without its terminator (CRLF, LF or CR).
func (r *Reader) line() (string, error) {
	var buf []byte
	for {
		if r.pendingCR { // a CR ended the last line: skip the LF of a CRLF
			c, err := r.r.ReadByte()
			if err != nil {
				return "", err
			}
			r.pendingCR = false
			if c != '\n' {
				_ = r.r.UnreadByte()
			}
		}
		if r.r.Buffered() == 0 {
			if _, err := r.r.Peek(1); err != nil {
				if len(buf) > 0 {
					return string(buf), io.ErrUnexpectedEOF
				}
				return "", err
			}
		}
		chunk, _ := r.r.Peek(r.r.Buffered())
		i := bytes.IndexAny(chunk, "\r\n")
		if n := len(chunk); i >= 0 {
			r.n += i + 1
		} else {
			r.n += n
		}
		if r.n > r.max {
			return "", ErrTooLarge
		}
		if i < 0 {
			buf = append(buf, chunk...)
			_, _ = r.r.Discard(len(chunk))
			continue
		}
		buf = append(buf, chunk[:i]...)
		r.pendingCR = chunk[i] == '\r'
		_, _ = r.r.Discard(i + 1)
		return string(buf), nil
	}
}

// Next returns the next block that had any field or comment.
func (r *Reader) Next() (Block, error) {
	var b Block
	var data bytes.Buffer
	hasData, any := false, false
	r.n = 0
	for {
		line, err := r.line()
		if err != nil {
			if err == io.EOF && any {
				err = io.ErrUnexpectedEOF
			}
			return Block{}, err
		}
		if line == "" {
			if !any {
				r.n = 0 // blank lines between blocks count toward none
				continue
			}
			b.LastEventID = r.lastEventID
			if hasData {
				b.Data = strings.TrimSuffix(data.String(), "\n")
				b.Dispatched = true
			}
			if b.Event == "" {
				b.Event = "message"
			}
			return b, nil
		}
		any = true
		if line[0] == ':' {
			b.Comments = append(b.Comments, strings.TrimPrefix(line[1:], " "))
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "event":
			b.Event = value
		case "data":
			hasData = true
			data.WriteString(value)
			data.WriteByte('\n')
		case "id":
			if !strings.ContainsRune(value, 0) {
				b.HasID = true
				r.lastEventID = value
			}
		case "retry":
			if n, err := strconv.ParseUint(value, 10, 63); err == nil && value != "" && strings.Trim(value, "0123456789") == "" {
				b.Retry = time.Duration(n) * time.Millisecond
			}
		}
	}
}
