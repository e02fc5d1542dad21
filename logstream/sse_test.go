package logstream_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logclient/sse"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstream"
)

// sseServer serves sseHandler on loopback.
func sseServer(t *testing.T, b *logstream.Broadcaster, o *logstream.SSEOptions) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(sseHandler(b, o))
	t.Cleanup(srv.Close)
	return srv
}

// sseHandler serves tenant "a"'s stream of b, resuming from the
// Last-Event-ID header.
func sseHandler(b *logstream.Broadcaster, o *logstream.SSEOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var after *logstore.Cursor
		if id := r.Header.Get("Last-Event-ID"); id != "" {
			c, err := b.Sealer().Open("a", id)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			after = &c
		}
		sub, err := b.Subscribe(r.Context(), "a", logquery.Filter{}, after)
		var end *logstream.EndError
		if errors.As(err, &end) {
			_ = logstream.WriteEnd(w, end, o)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = logstream.ServeSSE(r.Context(), w, sub, o)
	})
}

type client struct {
	resp *http.Response
	*sse.Reader
}

func connect(t *testing.T, url, lastID string) *client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return &client{resp: resp, Reader: sse.NewReader(resp.Body)}
}

// next returns the next block, failing the test after 10 s.
func (c *client) next(t *testing.T) sse.Block {
	t.Helper()
	type res struct {
		b   sse.Block
		err error
	}
	ch := make(chan res, 1)
	go func() {
		b, err := c.Next()
		ch <- res{b, err}
	}()
	select {
	case r := <-ch:
		require.NoError(t, r.err)
		return r.b
	case <-time.After(10 * time.Second):
		_ = c.resp.Body.Close()
		t.Fatal("no block within 10 s")
		return sse.Block{}
	}
}

// events reads n dispatched events, skipping heartbeats.
func (c *client) events(t *testing.T, n int) []sse.Block {
	t.Helper()
	var out []sse.Block
	for len(out) < n {
		if b := c.next(t); b.Dispatched {
			out = append(out, b)
		}
	}
	return out
}

func TestSSEWireFormat(t *testing.T) {
	store := openStore(t, "sqlite")
	b := newBroadcaster(t, store, logstream.Options{})
	srv := sseServer(t, b, &logstream.SSEOptions{Heartbeat: time.Hour, Retry: 1500 * time.Millisecond})
	c := connect(t, srv.URL, "")

	assert.Equal(t, http.StatusOK, c.resp.StatusCode)
	assert.Equal(t, "text/event-stream", c.resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-cache", c.resp.Header.Get("Cache-Control"))
	assert.Equal(t, "no", c.resp.Header.Get("X-Accel-Buffering"))
	assert.Equal(t, 1500*time.Millisecond, c.next(t).Retry)
	start := c.next(t)
	assert.True(t, start.HasID && !start.Dispatched, "the stream starts by setting the last event id")
	_, err := b.Sealer().Open("a", start.LastEventID)
	require.NoError(t, err)

	es := appendEntries(t, store, "a",
		logs.Entry{Level: logs.LevelWarn, Source: "auth", Message: "line one\nline two \"quoted\" \u2028",
			Metadata: map[string]any{"ip": "10.0.0.1", "n": 3.5}, CreatedAt: time.Date(2026, 3, 19, 11, 5, 22, 0, time.UTC)},
		mk(logs.LevelInfo, "idp", "second"),
	)
	recs := visible(t, store, "a", 2)
	for i, ev := range c.events(t, 2) {
		want, err := json.Marshal(es[i])
		require.NoError(t, err)
		assert.Equal(t, string(want), ev.Data, "data is the entry's JSON, on one line")
		assert.Equal(t, "message", ev.Event)
		assert.Equal(t, b.Sealer().Seal("a", recs[i].Cursor), ev.LastEventID)
		var back logs.Entry
		require.NoError(t, json.Unmarshal([]byte(ev.Data), &back))
		assert.Equal(t, es[i].Message, back.Message)
	}
}

func TestSSEHeartbeatAndPosition(t *testing.T) {
	store := openStore(t, "sqlite")
	b := newBroadcaster(t, store, logstream.Options{})
	srv := sseServer(t, b, &logstream.SSEOptions{Heartbeat: 20 * time.Millisecond})
	c := connect(t, srv.URL, "")
	c.next(t) // retry
	start := c.next(t).LastEventID

	hb := c.next(t)
	assert.Equal(t, []string{"heartbeat"}, hb.Comments)
	assert.False(t, hb.Dispatched)

	// Another tenant's traffic moves the stream's position; a heartbeat
	// carries it as an id, without an event.
	appendEntries(t, store, "other", numbered("x", 3)...)
	recs := visible(t, store, "", 3)
	var moved sse.Block
	for { // the entries are appended one by one: a heartbeat may come between them
		moved = c.next(t)
		require.False(t, moved.Dispatched, "no event of another tenant")
		if !moved.HasID {
			continue
		}
		p, err := b.Sealer().Open("a", moved.LastEventID)
		require.NoError(t, err)
		require.False(t, recs[len(recs)-1].Cursor.Less(p), "never beyond the last entry")
		if p == recs[len(recs)-1].Cursor {
			break
		}
	}
	assert.NotEqual(t, start, moved.LastEventID)

	// Resuming from it replays nothing old and misses nothing new.
	_ = c.resp.Body.Close()
	es := appendEntries(t, store, "a", numbered("while away", 2)...)
	c2 := connect(t, srv.URL, moved.LastEventID)
	got := c2.events(t, 2)
	assert.Equal(t, es[0].ID, entryID(t, got[0]))
	assert.Equal(t, es[1].ID, entryID(t, got[1]))
}

func entryID(t *testing.T, b sse.Block) string {
	t.Helper()
	var e logs.Entry
	require.NoError(t, json.Unmarshal([]byte(b.Data), &e))
	return e.ID
}

func endReason(t *testing.T, b sse.Block) string {
	t.Helper()
	require.Equal(t, "end", b.Event)
	var body struct{ Reason, Message string }
	require.NoError(t, json.NewDecoder(bytes.NewReader([]byte(b.Data))).Decode(&body))
	assert.NotEmpty(t, body.Message)
	return body.Reason
}

// readEnd reads until `event: end` and checks that the stream closes after it.
func (c *client) readEnd(t *testing.T) sse.Block {
	t.Helper()
	for {
		b := c.next(t)
		if b.Event == "end" {
			_, err := c.Next()
			require.Error(t, err, "the stream closes after event: end")
			return b
		}
	}
}

func TestSSEEnd(t *testing.T) {
	t.Run("shutdown", func(t *testing.T) {
		store := openStore(t, "sqlite")
		b := newBroadcaster(t, store, logstream.Options{})
		srv := sseServer(t, b, &logstream.SSEOptions{Heartbeat: time.Hour})
		c := connect(t, srv.URL, "")
		appendEntries(t, store, "a", numbered("x", 1)...)
		c.events(t, 1)
		require.NoError(t, b.Close())
		assert.Equal(t, "shutdown", endReason(t, c.readEnd(t)))
	})
	t.Run("max duration", func(t *testing.T) {
		store := openStore(t, "sqlite")
		b := newBroadcaster(t, store, logstream.Options{MaxDuration: 100 * time.Millisecond})
		srv := sseServer(t, b, nil)
		c := connect(t, srv.URL, "")
		assert.Equal(t, "max_duration", endReason(t, c.readEnd(t)))
	})
	t.Run("limits", func(t *testing.T) {
		store := openStore(t, "sqlite")
		b := newBroadcaster(t, store, logstream.Options{MaxStreamsPerTenant: 1})
		srv := sseServer(t, b, &logstream.SSEOptions{LimitRetry: 9 * time.Second})
		first := connect(t, srv.URL, "")
		first.next(t)
		c := connect(t, srv.URL, "")
		assert.Equal(t, http.StatusOK, c.resp.StatusCode)
		assert.Equal(t, "text/event-stream", c.resp.Header.Get("Content-Type"))
		assert.Equal(t, 9*time.Second, c.next(t).Retry, "a refused client is told to wait longer")
		assert.Equal(t, "tenant_stream_limit", endReason(t, c.readEnd(t)))
	})
}

func TestSSEWriterLines(t *testing.T) {
	var buf bytes.Buffer
	w := logstream.NewSSEWriter(&buf)
	w.Event("1\nforged: x", "end\r", []byte("a\r\nb\rc\nd"))
	w.Comment("hi\nthere")
	require.NoError(t, w.Flush())
	assert.Equal(t, "event: end\nid: 1\ndata: a\ndata: b\ndata: c\ndata: d\n\n: hi\n\n", buf.String())
	r := sse.NewReader(&buf)
	b, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, "a\nb\nc\nd", b.Data)
}

// A client that goes away frees its stream at once, also when the stream
// is silent (no heartbeat for an hour, so no write fails): net/http ends
// the request's context when the client closes the connection.
func TestSSEClientGone(t *testing.T) {
	streaming := func(t *testing.T, b *logstream.Broadcaster) {
		t.Helper()
		_, n := b.Streams("a")
		require.Equal(t, 1, n)
	}
	for name, leave := range map[string]func(t *testing.T, srv *httptest.Server, b *logstream.Broadcaster){
		"closes the response body": func(t *testing.T, srv *httptest.Server, b *logstream.Broadcaster) {
			c := connect(t, srv.URL, "")
			c.next(t)
			c.next(t)
			streaming(t, b)
			require.NoError(t, c.resp.Body.Close())
		},
		"closes the connection": func(t *testing.T, srv *httptest.Server, b *logstream.Broadcaster) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			require.NoError(t, err)
			_, err = fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			require.NoError(t, err)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			r := sse.NewReader(resp.Body)
			for range 2 { // retry, start position
				_, err := r.Next()
				require.NoError(t, err)
			}
			streaming(t, b)
			require.NoError(t, conn.Close())
		},
	} {
		t.Run(name, func(t *testing.T) {
			store := openStore(t, "sqlite")
			b := newBroadcaster(t, store, logstream.Options{})
			srv := sseServer(t, b, &logstream.SSEOptions{Heartbeat: time.Hour})
			leave(t, srv, b)
			require.Eventually(t, func() bool { _, n := b.Streams("a"); return n == 0 }, 10*time.Second, 10*time.Millisecond,
				"the stream of a client that went away is still open")
		})
	}
}

// Over HTTP/2 the stream is served as over HTTP/1.1, in the handler.
func TestSSEOverHTTP2(t *testing.T) {
	store := openStore(t, "sqlite")
	b := newBroadcaster(t, store, logstream.Options{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, err := b.Subscribe(r.Context(), "a", logquery.Filter{}, nil)
		if !assert.NoError(t, err) {
			return
		}
		_ = logstream.ServeSSE(r.Context(), w, sub, &logstream.SSEOptions{Heartbeat: time.Hour})
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = b.Close() })
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	c := &client{resp: resp, Reader: sse.NewReader(resp.Body)}
	c.next(t)
	c.next(t)
	es := appendEntries(t, store, "a", numbered("h2", 2)...)
	got := c.events(t, 2)
	assert.Equal(t, es[0].ID, entryID(t, got[0]))
	assert.Equal(t, es[1].ID, entryID(t, got[1]))
	require.NoError(t, b.Close())
	assert.Equal(t, "shutdown", endReason(t, c.readEnd(t)))
}

// On HTTP/2 a write deadline that passes resets the stream even when no
// write is pending: a stream silent for longer than WriteTimeout (between
// heartbeats here) must stay open.
func TestSSEOverHTTP2IdleBeyondWriteTimeout(t *testing.T) {
	store := openStore(t, "sqlite")
	b := newBroadcaster(t, store, logstream.Options{})
	srv := httptest.NewUnstartedServer(sseHandler(b, &logstream.SSEOptions{Heartbeat: 300 * time.Millisecond, WriteTimeout: 50 * time.Millisecond}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)
	c := &client{resp: resp, Reader: sse.NewReader(resp.Body)}
	c.next(t) // retry
	c.next(t) // start position
	for range 2 {
		assert.Equal(t, []string{"heartbeat"}, c.next(t).Comments)
	}
	es := appendEntries(t, store, "a", numbered("after silence", 1)...)
	assert.Equal(t, es[0].ID, entryID(t, c.events(t, 1)[0]))
}
