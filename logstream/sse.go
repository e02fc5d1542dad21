package logstream

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SSEWriter writes the Server-Sent Events wire format (the "text/event-stream"
// of the HTML standard) into a buffer; Flush writes the buffer out at once.
// It is not safe for concurrent use.
type SSEWriter struct {
	w   io.Writer
	buf []byte
}

// NewSSEWriter returns a writer to w.
func NewSSEWriter(w io.Writer) *SSEWriter { return &SSEWriter{w: w} }

// field appends "name: value\n" for each line of value (an event's data
// may span lines; id and event may not and are cut at the first line
// break by the caller).
func (s *SSEWriter) field(name string, value []byte) {
	for {
		i := indexLineBreak(value)
		line := value
		if i >= 0 {
			line = value[:i]
		}
		s.buf = append(s.buf, name...)
		s.buf = append(s.buf, ": "...)
		s.buf = append(s.buf, line...)
		s.buf = append(s.buf, '\n')
		if i < 0 {
			return
		}
		if value[i] == '\r' && i+1 < len(value) && value[i+1] == '\n' {
			i++
		}
		value = value[i+1:]
	}
}

func indexLineBreak(b []byte) int {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			return i
		}
	}
	return -1
}

func oneLine(s string) string {
	if i := strings.IndexAny(s, "\r\n\x00"); i >= 0 {
		return s[:i]
	}
	return s
}

// Event appends an event: its id (omitted when empty), its type (omitted
// when empty, which means "message"), and its data, one "data:" line per
// line.
func (s *SSEWriter) Event(id, event string, data []byte) {
	if event != "" {
		s.field("event", []byte(oneLine(event)))
	}
	if id != "" {
		s.field("id", []byte(oneLine(id)))
	}
	s.field("data", data)
	s.buf = append(s.buf, '\n')
}

// ID appends a block that sets the client's last event id without
// dispatching an event.
func (s *SSEWriter) ID(id string) {
	s.field("id", []byte(oneLine(id)))
	s.buf = append(s.buf, '\n')
}

// Comment appends a comment line (clients ignore it; it keeps proxies from
// closing an idle connection).
func (s *SSEWriter) Comment(text string) {
	s.buf = append(s.buf, ": "...)
	s.buf = append(s.buf, oneLine(text)...)
	s.buf = append(s.buf, '\n', '\n')
}

// Retry appends the reconnection delay the client should use.
func (s *SSEWriter) Retry(d time.Duration) {
	s.buf = append(s.buf, "retry: "...)
	s.buf = strconv.AppendInt(s.buf, d.Milliseconds(), 10)
	s.buf = append(s.buf, '\n', '\n')
}

// Buffered returns the number of bytes not yet written.
func (s *SSEWriter) Buffered() int { return len(s.buf) }

// Flush writes what was appended to the underlying writer.
func (s *SSEWriter) Flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	_, err := s.w.Write(s.buf)
	s.buf = s.buf[:0]
	return err
}

// SSEOptions configure [ServeSSE] and [WriteEnd]. A nil *SSEOptions, and
// every zero field, means the default named on the field.
type SSEOptions struct {
	// Heartbeat is how long a stream may stay silent before a comment is
	// sent. Default 15s.
	Heartbeat time.Duration
	// Retry is the reconnection delay told to the client. Default 2s.
	Retry time.Duration
	// LimitRetry is the reconnection delay told to a client refused by a
	// limit on concurrent streams. Default 15s.
	LimitRetry time.Duration
	// WriteTimeout ends a stream whose client does not take a write for
	// that long. Default 30s.
	WriteTimeout time.Duration
}

func (o *SSEOptions) withDefaults() SSEOptions {
	var r SSEOptions
	if o != nil {
		r = *o
	}
	if r.Heartbeat <= 0 {
		r.Heartbeat = 15 * time.Second
	}
	if r.Retry <= 0 {
		r.Retry = 2 * time.Second
	}
	if r.LimitRetry <= 0 {
		r.LimitRetry = 15 * time.Second
	}
	if r.WriteTimeout <= 0 {
		r.WriteTimeout = 30 * time.Second
	}
	return r
}

// SetHeaders sets the response headers of an event stream.
func SetHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
}

type sseConn struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	sw      *SSEWriter
	timeout time.Duration
}

func newSSEConn(w http.ResponseWriter, timeout time.Duration) *sseConn {
	return &sseConn{w: w, rc: http.NewResponseController(w), sw: NewSSEWriter(w), timeout: timeout}
}

// flush writes the buffered frames and flushes them to the client, with a
// deadline so that a client that stopped reading cannot hold the handler.
func (c *sseConn) flush() error {
	_ = c.rc.SetWriteDeadline(time.Now().Add(c.timeout)) // unsupported: the server's own timeouts apply
	if err := c.sw.Flush(); err != nil {
		return err
	}
	return c.rc.Flush()
}

func (c *sseConn) end(id string, e *EndError) error {
	data, _ := json.Marshal(e)
	c.sw.Event(id, "end", data)
	return c.flush()
}

// WriteEnd answers a stream request with the event-stream headers, a
// reconnection delay and `event: end` with e as its JSON data: the answer
// to a request that Subscribe refused with an *EndError.
//
// With opts nil the defaults apply.
func WriteEnd(w http.ResponseWriter, e *EndError, opts *SSEOptions) error {
	o := opts.withDefaults()
	SetHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	c := newSSEConn(w, o.WriteTimeout)
	retry := o.Retry
	if e.Reason == EndStreamLimit || e.Reason == EndTenantStreamLimit {
		retry = o.LimitRetry
	}
	c.sw.Retry(retry)
	return c.end("", e)
}

// ServeSSE writes sub to w as an event stream until the subscription ends,
// ctx ends (the client went away) or a write fails, and closes sub.
//
// It sets the headers, tells the client a reconnection delay, and sets the
// client's last event id to the position the stream starts from (so that a
// stream ended before its first event still resumes without a gap). Each
// entry is an event "id: <sealed cursor>" and "data: <entry JSON>"; each
// batch is flushed at once. A silent stream gets a comment every
// Heartbeat, with an id line when its position moved on. When the
// Broadcaster ends the stream it sends `event: end` with the JSON of the
// *EndError ({"reason":"...","message":"..."}) and returns nil.
//
// With opts nil the Broadcaster's Options.SSE apply.
func ServeSSE(ctx context.Context, w http.ResponseWriter, sub *Subscription, opts *SSEOptions) error {
	defer sub.Close()
	if opts == nil {
		opts = &sub.b.opts.SSE
	}
	o := opts.withDefaults()
	sealer := sub.b.sealer
	SetHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	c := newSSEConn(w, o.WriteTimeout)
	sent := sub.Position()
	c.sw.Retry(o.Retry)
	c.sw.ID(sealer.Seal(sub.tenant, sent))
	if err := c.flush(); err != nil {
		return err
	}
	hb := time.NewTicker(o.Heartbeat)
	defer hb.Stop()
	busy := false
	for {
		evs, err := sub.Next(ctx)
		if err != nil {
			var end *EndError
			if errors.As(err, &end) && end.Reason != endClosed {
				id := ""
				if p := sub.Position(); sent.Less(p) {
					id = sealer.Seal(sub.tenant, p)
				}
				_ = c.end(id, end)
				return nil
			}
			return err
		}
		if len(evs) > 0 {
			for _, ev := range evs {
				c.sw.Event(ev.ID, "", ev.Data)
			}
			sent = evs[len(evs)-1].Cursor
			if err := c.flush(); err != nil {
				return err
			}
			busy = true
			continue
		}
		select {
		case <-sub.Ready():
		case <-hb.C:
			if busy {
				busy = false
				continue
			}
			if p := sub.Position(); sent.Less(p) {
				sent = p
				c.sw.buf = append(c.sw.buf, ": heartbeat\n"...)
				c.sw.ID(sealer.Seal(sub.tenant, p))
			} else {
				c.sw.Comment("heartbeat")
			}
			if err := c.flush(); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
