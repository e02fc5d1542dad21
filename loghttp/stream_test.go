package loghttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logclient/sse"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/loghttp/jwtauth"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstore/bunstore"
	"github.com/ithbat/logs/logstream"
)

var streamKey = []byte("stream-test-key-0123456789abcdef")

// streamEnv is an env whose server streams through its own Broadcaster.
type streamEnv struct {
	*env
	B *logstream.Broadcaster
}

func newStreamEnv(tb testing.TB, st *bunstore.Store, o logstream.Options) *streamEnv {
	tb.Helper()
	if o.Key == nil {
		o.Key = streamKey
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Poll == 0 {
		o.Poll = 50 * time.Millisecond
	}
	if o.Ledger == nil {
		o.Ledger = st
	}
	b, err := logstream.New(st, &o)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = b.Close() })
	e := newEnv(tb, st, &envOptions{opts: loghttp.Options{Stream: b}})
	tb.Cleanup(func() { _ = b.Close() }) // before the server's Close waits for the streams
	return &streamEnv{env: e, B: b}
}

// stream is one SSE connection read by a real wire-format reader.
type stream struct {
	resp   *http.Response
	cancel context.CancelFunc
	blocks chan blockOrErr
	last   string // last event id seen
}

type blockOrErr struct {
	b   sse.Block
	err error
}

// open starts GET path with the given headers and reads blocks in the
// background.
func open(tb testing.TB, base, path string, header http.Header) *stream {
	tb.Helper()
	ctx, cancel := context.WithCancel(tb.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	require.NoError(tb, err)
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	s := &stream{resp: resp, cancel: cancel, blocks: make(chan blockOrErr, 64)}
	tb.Cleanup(s.close)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return s
	}
	go func() {
		r := sse.NewReader(resp.Body)
		for {
			b, err := r.Next()
			s.blocks <- blockOrErr{b, err}
			if err != nil {
				close(s.blocks)
				return
			}
		}
	}()
	return s
}

func (s *stream) close() {
	s.cancel()
	_ = s.resp.Body.Close()
}

// openAs opens the stream of tenant with a read token and a query.
func (e *streamEnv) openAs(tb testing.TB, tenant, query string, header http.Header) *stream {
	tb.Helper()
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Authorization", "Bearer "+token(tb, tenant, loghttp.PermRead))
	h.Set("X-Tenant-ID", tenant)
	return open(tb, e.URL, "/api/v1/logs/stream?"+query, h)
}

// next returns the next block, failing after 20 s.
func (s *stream) next(tb testing.TB) sse.Block {
	tb.Helper()
	select {
	case r, ok := <-s.blocks:
		require.True(tb, ok, "the stream is closed")
		require.NoError(tb, r.err)
		if r.b.HasID {
			s.last = r.b.LastEventID
		}
		return r.b
	case <-time.After(20 * time.Second):
		tb.Fatal("no block within 20 s")
		return sse.Block{}
	}
}

// entries reads n events and decodes their entries.
func (s *stream) entries(tb testing.TB, n int) []logs.Entry {
	tb.Helper()
	var out []logs.Entry
	for len(out) < n {
		b := s.next(tb)
		if !b.Dispatched {
			continue
		}
		require.Equal(tb, "message", b.Event, "data %s", b.Data)
		out = append(out, decodeEvent(tb, b))
	}
	return out
}

func decodeEvent(tb testing.TB, b sse.Block) logs.Entry {
	tb.Helper()
	var e logs.Entry
	require.NoError(tb, json.Unmarshal([]byte(b.Data), &e))
	again, err := json.Marshal(e)
	require.NoError(tb, err)
	require.Equal(tb, string(again), b.Data, "the data is the entry exactly as logs.Entry marshals")
	return e
}

// end reads until `event: end`, checks that the stream closes after it,
// and returns the reason.
func (s *stream) end(tb testing.TB) string {
	tb.Helper()
	for {
		b := s.next(tb)
		if b.Event != "end" {
			continue
		}
		var body struct{ Reason, Message string }
		require.NoError(tb, json.Unmarshal([]byte(b.Data), &body))
		assert.NotEmpty(tb, body.Message)
		select {
		case r := <-s.blocks:
			require.Error(tb, r.err, "nothing after event: end")
		case <-time.After(10 * time.Second):
			tb.Fatal("the stream stays open after event: end")
		}
		return body.Reason
	}
}

// nothingMore checks that no event arrives within d.
func (s *stream) nothingMore(tb testing.TB, d time.Duration) {
	tb.Helper()
	deadline := time.After(d)
	for {
		select {
		case r := <-s.blocks:
			require.NoError(tb, r.err)
			require.False(tb, r.b.Dispatched, "unexpected event %s", r.b.Data)
		case <-deadline:
			return
		}
	}
}

func entryIDs(es []logs.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func TestStreamRefusals(t *testing.T) {
	st := openStore(t, "sqlite")
	e := newStreamEnv(t, st, logstream.Options{})
	disabled := newEnv(t, st, nil)
	other := logstream.Options{Key: []byte("another replica's key, not shared")}
	foreign, err := logstream.New(st, &other)
	require.NoError(t, err)
	t.Cleanup(func() { _ = foreign.Close() })
	aID := e.B.Sealer().Seal("a", logstore.Cursor{Seq: 1})
	bID := e.B.Sealer().Seal("b", logstore.Cursor{Seq: 1})
	read := token(t, "a", loghttp.PermRead)
	write := token(t, "a", loghttp.PermWrite)

	for _, tc := range []struct {
		name   string
		env    *env
		query  string
		token  string
		tenant string
		header http.Header
		status int
		code   string
		field  string
	}{
		{"no token", e.env, "", "", "a", nil, 401, "unauthenticated", ""},
		{"token in the URL", e.env, "access_token=" + read, "", "a", nil, 400, "invalid_argument", "access_token"},
		{"token in the URL besides the header", e.env, "access_token=" + read, read, "a", nil, 400, "invalid_argument", "access_token"},
		{"no read permission", e.env, "", write, "a", nil, 403, "permission_denied", ""},
		{"another tenant", e.env, "", read, "b", nil, 403, "permission_denied", "X-Tenant-ID"},
		{"no tenant", e.env, "", read, "", nil, 400, "invalid_argument", "X-Tenant-ID"},
		{"bad level", e.env, "level=fatal", read, "a", nil, 400, "invalid_argument", "level"},
		{"bad startDate", e.env, "startDate=yesterday", read, "a", nil, 400, "invalid_argument", "startDate"},
		{"malformed Last-Event-ID", e.env, "", read, "a", http.Header{"Last-Event-Id": {"42"}}, 400, "invalid_argument", "Last-Event-ID"},
		{"raw cursor", e.env, "", read, "a", http.Header{"Last-Event-Id": {"0.1"}}, 400, "invalid_argument", "Last-Event-ID"},
		{"another tenant's event id", e.env, "", read, "a", http.Header{"Last-Event-Id": {bID}}, 400, "invalid_argument", "Last-Event-ID"},
		{"event id of another key", e.env, "", read, "a", http.Header{"Last-Event-Id": {foreign.Sealer().Seal("a", logstore.Cursor{Seq: 1})}}, 400, "invalid_argument", "Last-Event-ID"},
		{"tampered lastEventId", e.env, "lastEventId=" + aID[:len(aID)-2] + "AA", read, "a", nil, 400, "invalid_argument", "lastEventId"},
		{"two Last-Event-ID", e.env, "", read, "a", http.Header{"Last-Event-Id": {aID, aID}}, 400, "invalid_argument", "Last-Event-ID"},
		{"bad ticket", e.env, "ticket=abc", "", "", nil, 401, "unauthenticated", "ticket"},
		{"empty ticket", e.env, "ticket=", "", "", nil, 400, "invalid_argument", "ticket"},
		{"stream not enabled", disabled, "", read, "a", nil, 404, "not_found", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.env.do(t, req{path: "/api/v1/logs/stream?" + tc.query, token: tc.token, tenant: tc.tenant, header: tc.header})
			r.requireError(t, tc.status, tc.code, tc.field)
			if tc.status == 401 {
				assert.Contains(t, r.Header.Get("WWW-Authenticate"), "Bearer")
			}
		})
	}
	t.Run("POST is not allowed", func(t *testing.T) {
		r := e.do(t, req{method: http.MethodPost, path: "/api/v1/logs/stream", token: read, tenant: "a"})
		r.requireError(t, 405, "method_not_allowed", "")
		assert.Equal(t, "GET", r.Header.Get("Allow"))
	})
}

func TestStreamFiltersAndTenants(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newStreamEnv(t, st, logstream.Options{})
		all := e.openAs(t, "a", "", nil)
		errorsAuth := e.openAs(t, "a", "level=error&source=auth", nil)
		search := e.openAs(t, "a", "search="+url.QueryEscape(`TIMEOUT "idp down"`), nil)
		since := e.openAs(t, "a", "startDate=2026-03-19&endDate=2026-03-19", nil)
		tenantB := e.openAs(t, "b", "", nil)
		for _, s := range []*stream{all, errorsAuth, search, since, tenantB} {
			require.Equal(t, http.StatusOK, s.resp.StatusCode)
			assert.Equal(t, "text/event-stream", s.resp.Header.Get("Content-Type"))
			assert.Equal(t, "no-cache", s.resp.Header.Get("Cache-Control"))
			assert.Equal(t, "no", s.resp.Header.Get("X-Accel-Buffering"))
			assert.Positive(t, s.next(t).Retry, "a retry line first")
			assert.True(t, s.next(t).HasID, "then the start position")
		}
		in := e.ingest(t, "a", `{"logs":[
			{"level":"error","source":"auth","message":"login failed"},
			{"level":"error","source":"idp","message":"Timeout: IdP down again","metadata":{"idp":"azure"}},
			{"level":"info","source":"auth","message":"login ok","createdAt":"2026-03-19T11:05:22Z"},
			{"level":"error","source":"auth","message":"timeout but idp up"}]}`)
		inB := e.ingest(t, "b", `{"level":"error","source":"auth","message":"tenant b: login failed"}`)

		assert.Equal(t, in.IDs, entryIDs(all.entries(t, 4)))
		assert.Equal(t, []string{in.IDs[0], in.IDs[3]}, entryIDs(errorsAuth.entries(t, 2)))
		assert.Equal(t, []string{in.IDs[1]}, entryIDs(search.entries(t, 1)))
		got := since.entries(t, 1)
		assert.Equal(t, []string{in.IDs[2]}, entryIDs(got))
		assert.Equal(t, "2026-03-19T11:05:22Z", got[0].CreatedAt.Format(time.RFC3339))
		gotB := tenantB.entries(t, 1)
		assert.Equal(t, inB.IDs, entryIDs(gotB))
		assert.Equal(t, "b", gotB[0].TenantID)
		for _, s := range []*stream{all, errorsAuth, search, since, tenantB} {
			s.nothingMore(t, 100*time.Millisecond)
		}
	})
}

// ticket asks for a stream ticket of tenant with a JSON filter body.
func (e *streamEnv) ticket(tb testing.TB, tenant, body string) (ticket, streamURL string) {
	tb.Helper()
	t, u, _ := e.ticketAt(tb, tenant, body)
	return t, u
}

// ticketAt is ticket, with the lastEventId of the answer.
func (e *streamEnv) ticketAt(tb testing.TB, tenant, body string) (ticket, streamURL, lastEventID string) {
	tb.Helper()
	var out struct {
		Ticket      string `json:"ticket"`
		ExpiresAt   string `json:"expiresAt"`
		StreamURL   string `json:"streamUrl"`
		LastEventID string `json:"lastEventId"`
	}
	e.do(tb, req{method: http.MethodPost, path: "/api/v1/logs/stream/tickets", token: token(tb, tenant, loghttp.PermRead), tenant: tenant,
		body: strings.NewReader(body), header: http.Header{"Content-Type": {"application/json"}}}).data(tb, http.StatusCreated, &out)
	exp, err := time.Parse(time.RFC3339, out.ExpiresAt)
	require.NoError(tb, err)
	assert.WithinDuration(tb, time.Now().Add(logstream.DefaultTicketTTL), exp, 5*time.Second)
	_, err = e.B.Sealer().Open(tenant, out.LastEventID)
	require.NoError(tb, err, "lastEventId is an event id of the tenant")
	return out.Ticket, out.StreamURL, out.LastEventID
}

func TestStreamTickets(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newStreamEnv(t, st, logstream.Options{})
		tk, streamURL := e.ticket(t, "a", `{"level":"error","source":null}`)
		assert.Equal(t, "/api/v1/logs/stream?ticket="+url.QueryEscape(tk), streamURL)

		// A browser: no Authorization, no X-Tenant-ID.
		s := open(t, e.URL, streamURL, nil)
		require.Equal(t, http.StatusOK, s.resp.StatusCode)
		s.next(t)
		s.next(t)
		in := e.ingest(t, "a", `{"logs":[{"level":"info","source":"a","message":"x"},{"level":"error","source":"a","message":"y"}]}`)
		assert.Equal(t, in.IDs[1:], entryIDs(s.entries(t, 1)), "the ticket's filter applies")

		again := e.do(t, req{path: streamURL})
		again.requireError(t, 401, "unauthenticated", "ticket")

		// What is appended between the ticket and the connection is not
		// missed when the stream starts from the ticket's lastEventId.
		_, u1, from := e.ticketAt(t, "a", `{"level":"error"}`)
		between := e.ingest(t, "a", `{"level":"error","source":"a","message":"before connecting"}`)
		s1 := open(t, e.URL, u1+"&lastEventId="+url.QueryEscape(from), nil)
		assert.Equal(t, between.IDs, entryIDs(s1.entries(t, 1)))
		s1.close()

		// Reconnect as a browser does after event: end: a new ticket and
		// the last id in the query.
		s.close()
		in2 := e.ingest(t, "a", `{"level":"error","source":"a","message":"while away"}`)
		_, u2 := e.ticket(t, "a", `{"level":"error"}`)
		s2 := open(t, e.URL, u2+"&lastEventId="+url.QueryEscape(s.last), nil)
		assert.Equal(t, append(between.IDs, in2.IDs...), entryIDs(s2.entries(t, 2)), "everything after the first stream's last id")

		for _, tc := range []struct {
			name   string
			query  string
			header http.Header
			status int
			code   string
			field  string
		}{
			{"with a filter parameter", "&level=info", nil, 400, "invalid_argument", "level"},
			{"with an Authorization header", "", http.Header{"Authorization": {"Bearer " + token(t, "a", loghttp.PermRead)}}, 400, "invalid_argument", "ticket"},
			{"for another tenant", "", http.Header{"X-Tenant-ID": {"b"}}, 403, "permission_denied", "X-Tenant-ID"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, u := e.ticket(t, "a", "")
				e.do(t, req{path: u + tc.query, header: tc.header}).requireError(t, tc.status, tc.code, tc.field)
			})
		}
		t.Run("ticket requests", func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				token  string
				body   string
				status int
				code   string
				field  string
			}{
				{"bad filter", token(t, "a", loghttp.PermRead), `{"level":"fatal"}`, 400, "invalid_argument", "level"},
				{"not JSON", token(t, "a", loghttp.PermRead), `level=error`, 400, "invalid_argument", ""},
				{"write token", token(t, "a", loghttp.PermWrite), ``, 403, "permission_denied", ""},
				{"no token", "", ``, 401, "unauthenticated", ""},
				{"too large", token(t, "a", loghttp.PermRead), `{"search":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "payload_too_large", ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					e.do(t, req{method: http.MethodPost, path: "/api/v1/logs/stream/tickets", token: tc.token, tenant: "a",
						body: strings.NewReader(tc.body)}).requireError(t, tc.status, tc.code, tc.field)
				})
			}
		})
	})
}

// TestStreamTicketSpentLast: a request refused for any reason leaves its
// ticket usable; the ticket is spent only when the stream starts, once.
func TestStreamTicketSpentLast(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newStreamEnv(t, st, logstream.Options{MaxStreamsPerTenant: 1})
		_, u := e.ticket(t, "a", `{"level":"error"}`)
		bID := e.B.Sealer().Seal("b", logstore.Cursor{Seq: 1})

		for _, tc := range []struct {
			name   string
			query  string
			header http.Header
			status int
			code   string
			field  string
		}{
			{"bad Last-Event-ID", "", http.Header{"Last-Event-Id": {"42"}}, 400, "invalid_argument", "Last-Event-ID"},
			{"another tenant's lastEventId", "&lastEventId=" + bID, nil, 400, "invalid_argument", "lastEventId"},
			{"two lastEventId", "&lastEventId=x&lastEventId=y", nil, 400, "invalid_argument", "lastEventId"},
			{"filter next to the ticket", "&source=auth", nil, 400, "invalid_argument", "source"},
			{"another tenant", "", http.Header{"X-Tenant-ID": {"b"}}, 403, "permission_denied", "X-Tenant-ID"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.do(t, req{path: u + tc.query, header: tc.header}).requireError(t, tc.status, tc.code, tc.field)
			})
		}

		// The tenant's one stream is taken: the ticket's stream is refused
		// by the limit, and the ticket stays usable.
		held := e.openAs(t, "a", "", nil)
		require.Equal(t, http.StatusOK, held.resp.StatusCode)
		held.next(t)
		refused := open(t, e.URL, u, nil)
		require.Equal(t, http.StatusOK, refused.resp.StatusCode)
		assert.Equal(t, string(logstream.EndTenantStreamLimit), refused.end(t))
		held.close()
		require.Eventually(t, func() bool { _, n := e.B.Streams("a"); return n == 0 }, 10*time.Second, 10*time.Millisecond)

		// Now it works, once.
		s := open(t, e.URL, u, http.Header{"X-Tenant-ID": {"a"}})
		require.Equal(t, http.StatusOK, s.resp.StatusCode)
		in := e.ingest(t, "a", `{"logs":[{"level":"info","source":"a","message":"x"},{"level":"error","source":"a","message":"y"}]}`)
		assert.Equal(t, in.IDs[1:], entryIDs(s.entries(t, 1)))
		s.close() // (while it is open, the limit refuses a second use first)
		require.Eventually(t, func() bool { _, n := e.B.Streams("a"); return n == 0 }, 10*time.Second, 10*time.Millisecond)
		e.do(t, req{path: u}).requireError(t, 401, "unauthenticated", "ticket")

		// Concurrent uses of one ticket open one stream.
		e2 := newStreamEnv(t, st, logstream.Options{})
		_, u2 := e2.ticket(t, "a", "")
		const n = 8
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				s := open(t, e2.URL, u2, nil)
				statuses <- s.resp.StatusCode
				if s.resp.StatusCode == http.StatusOK {
					s.next(t) // the stream started
				}
			})
		}
		wg.Wait()
		close(statuses)
		var got []int
		for c := range statuses {
			got = append(got, c)
		}
		slices.Sort(got)
		assert.Equal(t, append([]int{http.StatusOK}, slices.Repeat([]int{http.StatusUnauthorized}, n-1)...), got)
	})
}

func TestStreamEndAndHeartbeat(t *testing.T) {
	st := openStore(t, "sqlite")
	t.Run("heartbeat on an idle stream", func(t *testing.T) {
		e := newStreamEnv(t, st, logstream.Options{SSE: logstream.SSEOptions{Heartbeat: 20 * time.Millisecond}})
		s := e.openAs(t, "a", "", nil)
		s.next(t)
		s.next(t)
		for range 3 {
			b := s.next(t)
			assert.Equal(t, []string{"heartbeat"}, b.Comments)
			assert.False(t, b.Dispatched)
		}
	})
	t.Run("tenant limit", func(t *testing.T) {
		e := newStreamEnv(t, st, logstream.Options{MaxStreamsPerTenant: 2, MaxStreams: 3})
		e.openAs(t, "a", "", nil).next(t)
		e.openAs(t, "a", "", nil).next(t)
		s := e.openAs(t, "a", "", nil)
		require.Equal(t, http.StatusOK, s.resp.StatusCode)
		assert.Equal(t, 15*time.Second, s.next(t).Retry)
		assert.Equal(t, "tenant_stream_limit", s.end(t))
		e.openAs(t, "b", "", nil).next(t)
		assert.Equal(t, "stream_limit", e.openAs(t, "c", "", nil).end(t))
	})
	t.Run("max duration", func(t *testing.T) {
		e := newStreamEnv(t, st, logstream.Options{MaxDuration: 100 * time.Millisecond})
		assert.Equal(t, "max_duration", e.openAs(t, "a", "", nil).end(t))
	})
	t.Run("shutdown", func(t *testing.T) {
		e := newStreamEnv(t, st, logstream.Options{})
		s := e.openAs(t, "a", "", nil)
		s.next(t)
		require.NoError(t, e.B.Close())
		assert.Equal(t, "shutdown", s.end(t))
		assert.Equal(t, "shutdown", e.openAs(t, "a", "", nil).end(t))
	})
	t.Run("token expiry", func(t *testing.T) {
		e := newStreamEnv(t, st, logstream.Options{})
		tok, err := jwtauth.Mint(secret, jwtauth.Grant{Tenant: "a", Permissions: []string{loghttp.PermRead}, TTL: 1500 * time.Millisecond,
			Issuer: issuer, Audience: audience, Subject: "test"})
		require.NoError(t, err)
		s := open(t, e.URL, "/api/v1/logs/stream", http.Header{"Authorization": {"Bearer " + tok}, "X-Tenant-Id": {"a"}})
		assert.Equal(t, "credential_expired", s.end(t))
	})
}

// Several writers ingest at once, some in slow transactions, so sequence
// values commit out of order; readers are cut off at random points and
// reconnect with Last-Event-ID (or lastEventId). Each must see every entry
// of its tenant exactly once and in order.
func TestStreamNoGapNoDuplicateAcrossReconnects(t *testing.T) {
	st := openStore(t, "postgres")
	for _, q := range []string{
		`CREATE FUNCTION test_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_sleep(0.05 + random() * 0.15); RETURN NEW; END $$`,
		`CREATE TRIGGER test_slow_insert BEFORE INSERT ON log_entries FOR EACH ROW
		WHEN (NEW.source = 'slow') EXECUTE FUNCTION test_slow_insert()`,
	} {
		_, err := st.DB().ExecContext(t.Context(), q)
		require.NoError(t, err)
	}
	e := newStreamEnv(t, st, logstream.Options{Buffer: 8, Recent: 64, Batch: 25, Poll: 20 * time.Millisecond})

	const writers, perWriter = 5, 30
	written := map[string]*atomic.Int64{"a": {}, "b": {}}
	readers := []string{"a", "a", "b"}
	type result struct {
		tenant string
		got    []logs.Entry
		reconn int
	}
	results := make([]*result, len(readers))
	start, stop := make(chan struct{}), make(chan struct{})
	var ready, rg, wg sync.WaitGroup
	ready.Add(len(readers))
	for i, tenant := range readers {
		res := &result{tenant: tenant}
		results[i] = res
		rg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			last := ""
			first := true
			defer func() {
				if first {
					ready.Done()
				}
			}()
			for {
				var h http.Header
				query := ""
				if last != "" {
					if rng.IntN(2) == 0 {
						h = http.Header{"Last-Event-Id": {last}}
					} else {
						query = "lastEventId=" + url.QueryEscape(last)
					}
				}
				s := e.openAs(t, tenant, query, h)
				if !assert.Equal(t, http.StatusOK, s.resp.StatusCode) {
					return
				}
				if first {
					s.next(t) // retry
					s.next(t) // start position: the stream is live
					ready.Done()
					first = false
				}
				budget := 1 + rng.IntN(20)
				stopping := false
			read:
				for budget > 0 {
					select {
					case r, ok := <-s.blocks:
						if !ok || !assert.NoError(t, r.err) {
							return
						}
						if r.b.HasID {
							last = r.b.LastEventID
						}
						if r.b.Dispatched {
							res.got = append(res.got, decodeEvent(t, r.b))
							budget--
						}
					case <-stop:
						stopping = true
						break read
					}
				}
				s.close()
				res.reconn++
				if stopping {
					// One last connection drains the rest.
					want := int(written[tenant].Load())
					s := e.openAs(t, tenant, "", http.Header{"Last-Event-Id": {last}})
					res.got = append(res.got, s.entries(t, want-len(res.got))...)
					s.nothingMore(t, 100*time.Millisecond)
					return
				}
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			<-start
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for i := range perWriter {
				tenant := []string{"a", "b"}[rng.IntN(2)]
				source := "app"
				if w%2 == 0 && rng.IntN(3) == 0 {
					source = "slow"
				}
				n := 1 + rng.IntN(3)
				var body strings.Builder
				for j := range n {
					fmt.Fprintf(&body, `{"level":"info","source":%q,"message":"w%d-%d-%d"}`+"\n", source, w, i, j)
				}
				r := e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: token(t, tenant, loghttp.PermWrite), tenant: tenant,
					body: strings.NewReader(body.String()), header: http.Header{"Content-Type": {"application/x-ndjson"}}})
				if assert.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw) {
					written[tenant].Add(int64(n))
				}
			}
		})
	}
	ready.Wait()
	close(start)
	wg.Wait()
	// Let the readers catch up with whatever their budget allows, then stop.
	close(stop)
	rg.Wait()

	for i, res := range results {
		var want []string
		var c logstore.Cursor
		require.Eventually(t, func() bool {
			recs, err := st.After(t.Context(), res.tenant, c, 10_000)
			require.NoError(t, err)
			want = want[:0]
			for _, r := range recs {
				want = append(want, r.Entry.ID)
			}
			return len(want) == int(written[res.tenant].Load())
		}, 30*time.Second, 20*time.Millisecond)
		got := entryIDs(res.got)
		if !slices.Equal(want, got) {
			t.Fatalf("reader %d (%s, %d reconnects): want %d entries, got %d; first difference at %d",
				i, res.tenant, res.reconn, len(want), len(got), firstDiff(want, got))
		}
		t.Logf("reader %d (%s): %d entries, %d reconnects", i, res.tenant, len(got), res.reconn)
	}
}

func firstDiff(a, b []string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// Two servers, each with its own Store and Broadcaster on one PostgreSQL
// database (two logsd replicas): a stream on one receives what the other
// ingested, and an event id of one resumes on the other.
func TestStreamAcrossReplicas(t *testing.T) {
	url := testdb.Postgres(t)
	open2 := func() *bunstore.Store {
		s, err := bunstore.Open(t.Context(), url, &bunstore.Options{Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	one := newStreamEnv(t, open2(), logstream.Options{Poll: time.Minute}) // only NOTIFY can wake it in time
	two := newStreamEnv(t, open2(), logstream.Options{Poll: time.Minute})

	s := one.openAs(t, "a", "", nil)
	s.next(t)
	s.next(t)
	in := two.ingest(t, "a", `{"logs":[{"level":"info","source":"x","message":"from replica two"},{"level":"warn","source":"x","message":"again"}]}`)
	assert.Equal(t, in.IDs, entryIDs(s.entries(t, 2)))

	// The client moves to replica two with its last id, and a ticket
	// issued by replica one is spent on replica two, once.
	s.close()
	in2 := one.ingest(t, "a", `{"level":"info","source":"x","message":"while moving"}`)
	s2 := two.openAs(t, "a", "", http.Header{"Last-Event-Id": {s.last}})
	assert.Equal(t, in2.IDs, entryIDs(s2.entries(t, 1)))

	_, u := one.ticket(t, "a", "")
	s3 := open(t, two.URL, u, nil)
	require.Equal(t, http.StatusOK, s3.resp.StatusCode)
	one.do(t, req{path: u}).requireError(t, 401, "unauthenticated", "ticket")
}
