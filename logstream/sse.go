package logstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
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
	// NoTakeOver keeps HTTP/1.x streams in the handler instead of taking
	// their connections over from the HTTP server (see [ServeSSE]).
	NoTakeOver bool
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

// livenessInterval is how often a stream on a taken-over connection
// checks that its client is still there.
const livenessInterval = time.Second

// shutdownWrite bounds the writes of taken-over streams once the
// Broadcaster closes.
const shutdownWrite = 2 * time.Second

// sink is where a stream's frames go: the ResponseWriter of the handler, or
// a connection taken over from the HTTP server.
type sink struct {
	sw    *SSEWriter
	flush func() error // write sw's frames out now
	alive func() bool  // nil when the request's context tells
}

func (k *sink) end(id string, e *EndError) error {
	data, _ := json.Marshal(e)
	k.sw.Event(id, "end", data)
	return k.flush()
}

// handlerSink writes through the handler's ResponseWriter, with a deadline
// on each flush so that a client that stopped reading cannot hold it.
func handlerSink(w http.ResponseWriter, timeout time.Duration) *sink {
	rc := http.NewResponseController(w)
	k := &sink{sw: NewSSEWriter(w)}
	k.flush = func() error {
		_ = rc.SetWriteDeadline(time.Now().Add(timeout)) // unsupported: the server's own timeouts apply
		if err := k.sw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	return k
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
	k := handlerSink(w, o.WriteTimeout)
	retry := o.Retry
	if e.Reason == EndStreamLimit || e.Reason == EndTenantStreamLimit {
		retry = o.LimitRetry
	}
	k.sw.Retry(retry)
	return k.end("", e)
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
// On HTTP/1.x, unless opts.NoTakeOver is set, ServeSSE takes the connection
// over from the HTTP server (http.ResponseController.Hijack) and returns at
// once: the stream is then served by a goroutine of the Broadcaster, and
// the server's goroutines and buffers for the connection are freed (an
// idle stream costs a few kilobytes instead of some 35). The response is
// then "Connection: close" with the headers set on w so far, and a
// vanished client is noticed within a second. Close waits for those
// goroutines. Elsewhere (HTTP/2, or a ResponseWriter that cannot be taken
// over) it serves the stream in the calling handler until it ends.
//
// With opts nil the Broadcaster's Options.SSE apply.
func ServeSSE(ctx context.Context, w http.ResponseWriter, sub *Subscription, opts *SSEOptions) error {
	if opts == nil {
		opts = &sub.b.opts.SSE
	}
	o := opts.withDefaults()
	if !o.NoTakeOver && sub.b.takeOver(w, sub, o) {
		return nil
	}
	defer sub.Close()
	SetHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	return serveLoop(ctx, sub, o, handlerSink(w, o.WriteTimeout))
}

// serveLoop writes the stream of sub into k until it ends.
func serveLoop(ctx context.Context, sub *Subscription, o SSEOptions, k *sink) error {
	sent := sub.Position()
	k.sw.Retry(o.Retry)
	k.sw.ID(sub.IDAt(sent))
	if err := k.flush(); err != nil {
		return err
	}
	interval := o.Heartbeat
	if k.alive != nil && interval > livenessInterval {
		interval = livenessInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	lastWrite := time.Now()
	for {
		evs, err := sub.Next(ctx)
		if err != nil {
			var end *EndError
			if errors.As(err, &end) && end.Reason != endClosed {
				id := ""
				if p := sub.Position(); sent.Less(p) {
					id = sub.IDAt(p)
				}
				_ = k.end(id, end)
				return nil
			}
			return err
		}
		if len(evs) > 0 {
			for _, ev := range evs {
				k.sw.Event(sub.EventID(ev), "", ev.Data)
			}
			sent = evs[len(evs)-1].Cursor
			if err := k.flush(); err != nil {
				return err
			}
			lastWrite = time.Now()
			continue
		}
		select {
		case <-sub.Ready():
		case <-tick.C:
			if k.alive != nil && !k.alive() {
				return errClientGone
			}
			if time.Since(lastWrite) < o.Heartbeat-interval/2 {
				continue
			}
			if p := sub.Position(); sent.Less(p) {
				sent = p
				k.sw.buf = append(k.sw.buf, ": heartbeat\n"...)
				k.sw.ID(sub.IDAt(p))
			} else {
				k.sw.Comment("heartbeat")
			}
			if err := k.flush(); err != nil {
				return err
			}
			lastWrite = time.Now()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

var errClientGone = errors.New("logstream: the client closed the connection")

// takeOver serves sub on w's connection, taken over from the HTTP server,
// in a goroutine of b. It reports false, with nothing written, when the
// connection cannot be taken over or b is closed.
func (b *Broadcaster) takeOver(w http.ResponseWriter, sub *Subscription, o SSEOptions) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	b.served.Add(1)
	b.mu.Unlock()
	header := w.Header().Clone()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		b.served.Done()
		return false
	}
	// The request's context ends when the handler returns: from now on
	// the stream's goroutine owns the subscription.
	sub.detach()
	b.mu.Lock()
	b.conns[conn] = struct{}{}
	b.mu.Unlock()
	go func() {
		defer b.served.Done()
		defer func() {
			b.mu.Lock()
			delete(b.conns, conn)
			b.mu.Unlock()
			_ = conn.Close()
		}()
		defer sub.Close()
		start := time.Now()
		err := serveLoop(context.Background(), sub, o, b.connSink(conn, header, o))
		b.log.Debug("logstream: stream ended", "tenant", sub.tenant, "duration", time.Since(start), "err", err)
	}()
	return true
}

// connSink writes a response head and then the stream straight to conn.
func (b *Broadcaster) connSink(conn net.Conn, header http.Header, o SSEOptions) *sink {
	SetHeaders(header)
	header.Set("Connection", "close")
	header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	header.Del("Transfer-Encoding")
	k := &sink{sw: NewSSEWriter(conn)}
	k.sw.buf = append(k.sw.buf, "HTTP/1.1 200 OK\r\n"...)
	hb := bytes.NewBuffer(k.sw.buf)
	_ = header.Write(hb)
	hb.WriteString("\r\n")
	k.sw.buf = hb.Bytes()
	k.flush = func() error {
		timeout := o.WriteTimeout
		closed := b.isClosed()
		if closed {
			timeout = min(timeout, shutdownWrite)
		}
		_ = conn.SetWriteDeadline(time.Now().Add(timeout))
		if !closed && b.isClosed() {
			// Close set its short deadline between the check and ours:
			// set it again, or a stalled client holds Close for timeout.
			_ = conn.SetWriteDeadline(time.Now().Add(min(timeout, shutdownWrite)))
		}
		err := k.sw.Flush()
		if cap(k.sw.buf) > 64<<10 {
			k.sw.buf = nil // an idle stream keeps no large buffer
		}
		return err
	}
	var one [1]byte
	k.alive = func() bool {
		// The client sends nothing after its request: a read that does
		// not time out at once means it closed the connection (or broke
		// the protocol).
		_ = conn.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := conn.Read(one[:])
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	}
	return k
}
