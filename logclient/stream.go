package logclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logclient/sse"
	"github.com/ithbat/logs/logquery"
)

// StreamOptions configure a Stream. The zero value (or nil) gives the
// defaults.
type StreamOptions struct {
	// LastEventID resumes after this event id (one a stream gave, or the
	// lastEventId of a stream ticket); "" starts from now.
	LastEventID string
	// MinBackoff and MaxBackoff bound the wait before a reconnection after
	// a failure (200ms and 30s by default). A retry: of the server, or the
	// Retry-After of a 429 or 503, is waited at least.
	MinBackoff, MaxBackoff time.Duration
	// IdleTimeout reconnects when the server sent nothing, not even its
	// heartbeat (every 15 s by default), for this long: 60 s by default.
	IdleTimeout time.Duration
	// MaxBlock bounds one event's bytes (sse.DefaultMaxBlock by default).
	MaxBlock int
	// OnReconnect, when set, is called before each reconnection with why
	// (an *EndError for an end event) and the wait.
	OnReconnect func(err error, wait time.Duration)
}

// EndError is the end event of a stream: the server closed it with a
// reason (max_duration, shutdown, stream_limit, ...); Stream reconnects.
type EndError struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func (e *EndError) Error() string {
	return "the server ended the stream: " + e.Reason + ": " + e.Message
}

// Stream is a live stream of a tenant's entries that reconnects by itself.
type Stream struct {
	c    *Client
	f    logquery.Filter
	opts StreamOptions

	mu     sync.Mutex
	lastID string
}

// Stream returns the live stream of the entries that match f's conditions
// (paging is ignored). Nothing is requested before Entries is ranged over.
func (c *Client) Stream(f logquery.Filter, opts *StreamOptions) *Stream {
	s := &Stream{c: c, f: f}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.IdleTimeout <= 0 {
		s.opts.IdleTimeout = time.Minute
	}
	if s.opts.MaxBlock <= 0 {
		s.opts.MaxBlock = sse.DefaultMaxBlock
	}
	s.lastID = s.opts.LastEventID
	return s
}

// LastEventID is the id of the last event read: give it to
// StreamOptions.LastEventID (or logs tail --last-event-id) to continue
// after the last entry Entries yielded.
func (s *Stream) LastEventID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

func (s *Stream) setLastID(id string) {
	s.mu.Lock()
	s.lastID = id
	s.mu.Unlock()
}

// errFatal marks an error that a reconnection cannot cure.
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

// Entries yields the stream's entries as they come, reconnecting with the
// last event id after any disconnect or end event, so that no entry is
// missed or yielded twice. It ends when ctx does (yielding ctx's error), or
// on an error a reconnection cannot cure (yielded once: a 400, 401, 403 or
// 404, an answer that is not an event stream, an event that is not an
// entry of the tenant).
func (s *Stream) Entries(ctx context.Context) iter.Seq2[logs.Entry, error] {
	return func(yield func(logs.Entry, error) bool) {
		b := Backoff{Min: s.opts.MinBackoff, Max: s.opts.MaxBackoff}
		var retry time.Duration // the server's retry:
		seen := newRecent(4096)
		for {
			progressed, err := s.connect(ctx, &retry, seen, yield)
			if err == nil { // the caller stopped
				return
			}
			if ctx.Err() != nil {
				yield(logs.Entry{}, ctx.Err())
				return
			}
			var fe fatalError
			if errors.As(err, &fe) {
				yield(logs.Entry{}, fe.err)
				return
			}
			if progressed {
				b.Reset()
			}
			// After an end event that followed entries, as after any
			// connection that delivered some, the wait starts again from
			// the shortest; a server that ends or fails every connection
			// at once is retried ever more slowly. The server's retry: and
			// Retry-After are waited at least.
			wait := max(b.Next(), retry, retryAfter(err))
			if s.opts.OnReconnect != nil {
				s.opts.OnReconnect(err, wait)
			}
			if sleep(ctx, wait) != nil {
				yield(logs.Entry{}, ctx.Err())
				return
			}
		}
	}
}

// connect reads one connection. It returns nil when the caller stopped,
// else why the connection ended; progressed is whether it got an event.
func (s *Stream) connect(ctx context.Context, retry *time.Duration, seen *recent, yield func(logs.Entry, error) bool) (progressed bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := s.c.newRequest(ctx, http.MethodGet, s.c.endpoint("/api/v1/logs/stream", filterValues(s.f)), nil, "")
	if err != nil {
		return false, fatalError{err}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if id := s.LastEventID(); id != "" {
		req.Header.Set("Last-Event-ID", id)
	}
	resp, err := s.c.send(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := s.c.errorOf(resp)
		if retryable(err) {
			return false, err
		}
		return false, fatalError{err}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return false, fatalError{badAnswer(resp, "the stream's answer is %q, not text/event-stream", oneLine(resp.Header.Get("Content-Type"), 100))}
	}
	// A connection that went silent (no heartbeat either) is dead: cut it.
	idle := time.AfterFunc(s.opts.IdleTimeout, cancel)
	defer idle.Stop()
	rd := sse.NewReaderSize(&touchReader{r: resp.Body, t: idle, d: s.opts.IdleTimeout}, s.opts.MaxBlock)
	for {
		b, err := rd.Next()
		if err != nil {
			if errors.Is(err, sse.ErrTooLarge) {
				return progressed, fatalError{badAnswer(resp, "an event of the stream is larger than %d bytes", s.opts.MaxBlock)}
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // a stream ends with an end event, else it was cut
			}
			if ctx.Err() != nil { // the idle timer (the caller's context is checked by Entries)
				err = fmt.Errorf("nothing arrived for %s: %w", s.opts.IdleTimeout, err)
			}
			return progressed, fmt.Errorf("logclient: stream: %w: %w", logs.ErrUnavailable, err)
		}
		if b.Retry > 0 {
			*retry = min(b.Retry, 5*time.Minute)
		}
		switch {
		case b.Event == "end":
			end := &EndError{}
			if json.Unmarshal([]byte(b.Data), end) != nil || end.Reason == "" {
				end.Reason, end.Message = "unknown", oneLine(b.Data, 200)
			}
			if b.HasID {
				s.setLastID(b.LastEventID)
			}
			return progressed, end
		case b.Dispatched && b.Event == "message":
			var e logs.Entry
			dec := json.NewDecoder(bytes.NewReader([]byte(b.Data)))
			dec.UseNumber()
			if err := dec.Decode(&e); err != nil || e.ID == "" {
				return progressed, fatalError{badAnswer(resp, "an event of the stream is not a log entry: %s", oneLine(b.Data, 200))}
			}
			if e.TenantID != s.c.tenant {
				return progressed, fatalError{badAnswer(resp, "the stream sent an entry of tenant %q, not %q", oneLine(e.TenantID, 100), s.c.tenant)}
			}
			progressed = true
			if b.HasID {
				s.setLastID(b.LastEventID)
			}
			if seen.add(e.ID) && !yield(e, nil) {
				return progressed, nil
			}
		default: // the start's id, comments (heartbeats), other events
			if b.HasID {
				s.setLastID(b.LastEventID)
			}
		}
	}
}

// touchReader pushes the idle timer back on every read that got bytes.
type touchReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (t *touchReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.t.Reset(t.d)
	}
	return n, err
}

// recent remembers the last n ids yielded, so that even a server that
// replays an entry does not make the stream yield it twice.
type recent struct {
	set  map[string]struct{}
	ring []string
	next int
}

func newRecent(n int) *recent {
	return &recent{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add reports whether id is new, and remembers it.
func (r *recent) add(id string) bool {
	if _, ok := r.set[id]; ok {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = id
	r.set[id] = struct{}{}
	r.next = (r.next + 1) % len(r.ring)
	return true
}

// StreamPosition returns the event id of the stream's position now (the
// lastEventId of a stream ticket): a Stream resumed from it yields every
// entry that becomes visible after this call, so a caller can read the
// history with All and then the live stream without a gap (an entry may be
// in both; compare ids).
func (c *Client) StreamPosition(ctx context.Context, f logquery.Filter) (string, error) {
	body, _ := json.Marshal(f.Raw())
	var data struct {
		LastEventID string `json:"lastEventId"`
	}
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/logs/stream/tickets", nil, body, "application/json", &data)
	if err != nil {
		return "", err
	}
	if data.LastEventID == "" {
		return "", badAnswer(resp, "the ticket's answer has no lastEventId")
	}
	return data.LastEventID, nil
}
