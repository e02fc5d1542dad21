package logstream

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SSEWriter writes the Server-Sent Events wire format (the "text/event-stream"
// of the HTML standard) into a buffer; Flush writes the buffer out at once.
// A buffer that grew beyond [SSEKeep] is released by Flush, so that an idle
// stream holds little memory after a burst. It is not safe for concurrent
// use.
type SSEWriter struct {
	w   io.Writer
	buf []byte
}

// SSEKeep is the largest buffer an SSEWriter keeps after Flush.
const SSEKeep = 4 << 10

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
	if cap(s.buf) > SSEKeep {
		s.buf = nil
	} else {
		s.buf = s.buf[:0]
	}
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
	// that long. Default 30s. Once the Broadcaster closes, a write waits
	// 2s at most.
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

// shutdownWrite bounds the writes of the streams once the Broadcaster
// closes: a client that stopped reading holds neither Close nor the HTTP
// server's Shutdown longer.
const shutdownWrite = 2 * time.Second

// sseChunk is how much of a batch is buffered before it is written out,
// so that a large batch (a client catching up) does not grow the buffer.
const sseChunk = 16 << 10

// sink writes a stream's frames through the handler's ResponseWriter, with
// a deadline on each write so that a client that stopped reading cannot
// hold the handler: WriteTimeout, or shutdownWrite once closing is done.
type sink struct {
	sw      *SSEWriter
	rc      *http.ResponseController
	timeout time.Duration
	closing context.Context // ends when the Broadcaster closes; nil for never

	mu       sync.Mutex // held by shorten, which Close may call from anywhere
	finished bool       // the handler is returning: w must not be used any more
}

func newSink(w http.ResponseWriter, timeout time.Duration, closing context.Context) *sink {
	return &sink{sw: NewSSEWriter(w), rc: http.NewResponseController(w), timeout: timeout, closing: closing}
}

func (k *sink) isClosing() bool { return k.closing != nil && k.closing.Err() != nil }

// shorten cuts the deadline of the write in progress, if any, to
// shutdownWrite: Close calls it (through context.AfterFunc on closing).
func (k *sink) shorten() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.finished {
		_ = k.rc.SetWriteDeadline(time.Now().Add(min(k.timeout, shutdownWrite)))
	}
}

// finish waits for a shorten in progress and makes later ones do nothing:
// a ResponseWriter must not be used once its handler returned (on HTTP/2
// it is gone, on HTTP/1.1 the connection may carry the next request).
func (k *sink) finish() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.finished = true
}

// deadline sets the deadline of the writes that follow. Where the
// ResponseWriter cannot set one, the server's own timeouts apply.
func (k *sink) deadline() {
	if k.isClosing() {
		k.shorten()
		return
	}
	_ = k.rc.SetWriteDeadline(time.Now().Add(k.timeout))
	if k.isClosing() {
		// closing ended between the check and our deadline, and its
		// shorten may have run before it: shorten again, or a stalled
		// client holds Close for the whole timeout.
		k.shorten()
	}
}

// flush writes the buffered frames out now, and clears the deadline: on
// HTTP/2 a deadline that passes resets the stream even with no write
// pending, and an idle stream must stay open.
func (k *sink) flush() error {
	k.deadline()
	err := k.sw.Flush()
	if err == nil {
		err = k.rc.Flush()
	}
	if err == nil && !k.isClosing() {
		_ = k.rc.SetWriteDeadline(time.Time{})
	}
	return err
}

// events writes evs and flushes them, writing out every sseChunk bytes.
func (k *sink) events(sub *Subscription, evs []*Event) error {
	k.deadline()
	for _, ev := range evs {
		k.sw.Event(sub.EventID(ev), "", ev.Data)
		if k.sw.Buffered() >= sseChunk {
			if err := k.sw.Flush(); err != nil {
				return err
			}
		}
	}
	return k.flush()
}

func (k *sink) end(id string, e *EndError) error {
	data, _ := json.Marshal(e)
	k.sw.Event(id, "end", data)
	return k.flush()
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
	k := newSink(w, o.WriteTimeout, nil)
	retry := o.Retry
	if e.Reason == EndStreamLimit || e.Reason == EndTenantStreamLimit {
		retry = o.LimitRetry
	}
	k.sw.Retry(retry)
	return k.end("", e)
}

// ServeSSE writes sub to w as an event stream until the subscription ends,
// ctx ends (the client went away: on HTTP/1.1 and HTTP/2 alike, net/http
// ends the request's context when the client closes the connection or the
// stream) or a write fails, and closes sub. It serves the stream in the
// calling handler, on HTTP/1.1 and HTTP/2 alike, so the server's
// middleware and access log see it as any request.
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
// Each write waits WriteTimeout at most; once the Broadcaster closes, 2 s
// at most, also a write already waiting, and Close waits for ServeSSE to
// return. That takes a ResponseWriter that can set write deadlines
// (http.ResponseController; a wrapper must have an Unwrap method): with
// one that cannot, the server's own timeouts bound the writes, and Close
// does not wait for the stream.
//
// With opts nil the Broadcaster's Options.SSE apply.
func ServeSSE(ctx context.Context, w http.ResponseWriter, sub *Subscription, opts *SSEOptions) error {
	b := sub.b
	bounded := !errors.Is(http.NewResponseController(w).SetWriteDeadline(time.Time{}), http.ErrNotSupported)
	b.mu.Lock()
	counted := bounded && !b.closed // once closed, Close is not waiting: the stream ends at once
	if counted {
		b.served.Add(1)
	}
	b.mu.Unlock()
	if counted {
		defer b.served.Done() // last: Close returns when the stream is done
	}
	defer sub.Close()
	if opts == nil {
		opts = &b.opts.SSE
	}
	o := opts.withDefaults()
	SetHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	k := newSink(w, o.WriteTimeout, b.ctx)
	stop := context.AfterFunc(b.ctx, k.shorten)
	defer func() {
		if !stop() { // shorten started, or will: wait for it, or disarm it
			k.finish()
		}
	}()
	reason, err := serveLoop(ctx, sub, o, k)
	if b.opts.OnEnd != nil {
		b.opts.OnEnd(reason)
	}
	return err
}

// serveLoop writes the stream of sub into k until it ends, and says why.
func serveLoop(ctx context.Context, sub *Subscription, o SSEOptions, k *sink) (EndReason, error) {
	sent := sub.Position()
	k.sw.Retry(o.Retry)
	k.sw.ID(sub.IDAt(sent))
	if err := k.flush(); err != nil {
		return EndDisconnected, err
	}
	tick := time.NewTicker(o.Heartbeat)
	defer tick.Stop()
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
				return end.Reason, nil
			}
			return EndDisconnected, err
		}
		if len(evs) > 0 {
			sent = evs[len(evs)-1].Cursor
			if err := k.events(sub, evs); err != nil {
				return EndDisconnected, err
			}
			tick.Reset(o.Heartbeat)
			continue
		}
		select {
		case <-sub.Ready():
		case <-tick.C:
			if p := sub.Position(); sent.Less(p) {
				sent = p
				k.sw.buf = append(k.sw.buf, ": heartbeat\n"...)
				k.sw.ID(sub.IDAt(p))
			} else {
				k.sw.Comment("heartbeat")
			}
			if err := k.flush(); err != nil {
				return EndDisconnected, err
			}
		case <-ctx.Done():
			return EndDisconnected, ctx.Err()
		}
	}
}
