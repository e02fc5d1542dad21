package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logclient/sse"
	"github.com/ithbat/logs/loghttp/jwtauth"
)

func TestStreamConfig(t *testing.T) {
	m := NewMain("logsd", io.Discard, io.Discard)
	require.NoError(t, m.ParseArgs([]string{"--stream-max", "50", "--stream-max-duration", "10m", "--stream-heartbeat", "5s"},
		envOf(map[string]string{"LOGSD_STREAM_MAX_PER_TENANT": "7", "LOGSD_STREAM_POLL": "100ms", "LOGSD_STREAM_TICKET_TTL": "30s",
			"LOGSD_STREAM_KEY": "a-stream-key-of-enough-length"})))
	c := m.Config
	assert.Equal(t, 50, c.StreamMax)
	assert.Equal(t, 7, c.StreamMaxPerTenant)
	assert.Equal(t, 10*time.Minute, c.StreamMaxDuration)
	assert.Equal(t, 5*time.Second, c.StreamHeartbeat)
	assert.Equal(t, 100*time.Millisecond, c.StreamPoll)
	assert.Equal(t, 30*time.Second, c.StreamTicketTTL)
	assert.Equal(t, "a-stream-key-of-enough-length", c.StreamKey)
	require.Error(t, NewMain("logsd", io.Discard, io.Discard).ParseArgs([]string{"--stream-max", "many"}, envOf(nil)))
	require.Error(t, NewMain("logsd", io.Discard, io.Discard).ParseArgs(nil, envOf(map[string]string{"LOGSD_STREAM_MAX_DURATION": "long"})))

	_, err := run(t, map[string]string{"LOGSD_DATA_DIR": t.TempDir(), "LOGSD_STREAM_KEY": "short"}, "--addr", "127.0.0.1:0")
	require.ErrorContains(t, err, "LOGSD_STREAM_KEY")
}

const sharedSecret = "a-jwt-secret-shared-by-every-replica"

func streamToken(tb testing.TB, tenant string, perms ...string) string {
	tb.Helper()
	tok, err := jwtauth.Mint([]byte(sharedSecret), jwtauth.Grant{Tenant: tenant, Permissions: perms, TTL: time.Hour, Subject: "test"})
	require.NoError(tb, err)
	return tok
}

// sseStream is a live stream read by a real SSE reader.
type sseStream struct {
	resp *http.Response
	r    *sse.Reader
}

// openSSE opens a stream and reads its first two blocks: the retry line
// and the start position.
func openSSE(tb testing.TB, url string, header http.Header) *sseStream {
	tb.Helper()
	s := openRaw(tb, url, header)
	s.next(tb) // retry
	s.next(tb) // start position
	return s
}

// openRaw opens a stream.
func openRaw(tb testing.TB, url string, header http.Header) *sseStream {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), time.Minute)
	tb.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(tb, err)
	if header != nil {
		req.Header = header
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = resp.Body.Close() })
	require.Equal(tb, http.StatusOK, resp.StatusCode)
	require.Equal(tb, "text/event-stream", resp.Header.Get("Content-Type"))
	return &sseStream{resp: resp, r: sse.NewReader(resp.Body)}
}

func (s *sseStream) next(tb testing.TB) sse.Block {
	tb.Helper()
	b, err := s.r.Next()
	require.NoError(tb, err)
	return b
}

// messages reads n events and returns their messages.
func (s *sseStream) messages(tb testing.TB, n int) []string {
	tb.Helper()
	var out []string
	for len(out) < n {
		if b := s.next(tb); b.Dispatched {
			var e logs.Entry
			require.NoError(tb, json.Unmarshal([]byte(b.Data), &e))
			out = append(out, e.Message)
		}
	}
	return out
}

// end reads until event: end and returns its reason.
func (s *sseStream) end(tb testing.TB) string {
	tb.Helper()
	for {
		b := s.next(tb)
		if b.Event == "end" {
			var body struct{ Reason string }
			require.NoError(tb, json.Unmarshal([]byte(b.Data), &body))
			_, err := s.r.Next()
			require.Error(tb, err, "the stream closes after event: end")
			return body.Reason
		}
	}
}

func bearer(tenant, tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}, "X-Tenant-Id": {tenant}}
}

func ingestOne(tb testing.TB, base, tenant, msg string) {
	tb.Helper()
	status, body := call(tb, http.MethodPost, base+"/api/v1/logs", streamToken(tb, tenant, "log:write"), tenant,
		`{"level":"info","source":"test","message":"`+msg+`"}`)
	require.Equal(tb, http.StatusCreated, status, body)
}

// Two logsd replicas on one PostgreSQL database: a stream on one carries
// what the other ingested, its event ids and tickets work on the other, the
// configured limits apply, and shutdown ends the stream with event: end.
func TestStreamReplicas(t *testing.T) {
	db := testdb.Postgres(t)
	env := func() map[string]string {
		return map[string]string{"LOGSD_DATA_DIR": t.TempDir(), "LOGSD_DATABASE_URL": db, "LOGSD_JWT_SECRET": sharedSecret,
			"LOGSD_STREAM_MAX_PER_TENANT": "2", "LOGSD_STREAM_POLL": "1m"} // only LISTEN/NOTIFY wakes the tailers in time
	}
	one, two := start(t, env()), start(t, env())
	read := streamToken(t, "acme", "log:read")

	s := openSSE(t, one.URL+"/api/v1/logs/stream", bearer("acme", read))
	ingestOne(t, two.URL, "acme", "via two")
	ingestOne(t, one.URL, "acme", "via one")
	assert.Equal(t, []string{"via two", "via one"}, s.messages(t, 2))
	last := s.r.LastEventID()
	require.NoError(t, s.resp.Body.Close())

	// The client comes back on the other replica with its last id.
	ingestOne(t, one.URL, "acme", "while away")
	h := bearer("acme", read)
	h.Set("Last-Event-ID", last)
	s2 := openSSE(t, two.URL+"/api/v1/logs/stream", h)
	assert.Equal(t, []string{"while away"}, s2.messages(t, 1))

	// A ticket from one replica, spent on the other, then refused.
	var tk struct {
		Data struct {
			StreamURL string `json:"streamUrl"`
		} `json:"data"`
	}
	status, body := call(t, http.MethodPost, one.URL+"/api/v1/logs/stream/tickets", read, "acme", `{"source":"test"}`)
	require.Equal(t, http.StatusCreated, status, body)
	raw, _ := json.Marshal(body)
	require.NoError(t, json.Unmarshal(raw, &tk))
	s3 := openSSE(t, two.URL+tk.Data.StreamURL, nil)
	status, _ = call(t, http.MethodGet, one.URL+tk.Data.StreamURL, "", "", "")
	assert.Equal(t, http.StatusUnauthorized, status)

	// LOGSD_STREAM_MAX_PER_TENANT=2: s2 and s3 are open on replica two.
	s4 := openRaw(t, two.URL+"/api/v1/logs/stream", bearer("acme", read))
	assert.Equal(t, "tenant_stream_limit", s4.end(t))

	// Graceful shutdown of replica two ends its streams.
	require.NoError(t, two.Close())
	assert.Equal(t, "shutdown", s2.end(t))
	assert.Equal(t, "shutdown", s3.end(t))
}

// A logsd in its own OS process streams what an in-process logsd on the
// same PostgreSQL database ingested, and its stream ends with event: end
// when the process gets SIGTERM.
func TestStreamSecondProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	db := testdb.Postgres(t)
	base, cmd := startProcess(t, buildLogsd(t), "LOGSD_DATABASE_URL="+db, "LOGSD_DATA_DIR=", "LOGSD_JWT_SECRET="+sharedSecret,
		"LOGSD_JWKS_URL=", "LOGSD_STREAM_KEY=", "LOGSD_STREAM_POLL=1m")
	other := start(t, map[string]string{"LOGSD_DATA_DIR": t.TempDir(), "LOGSD_DATABASE_URL": db, "LOGSD_JWT_SECRET": sharedSecret})

	s := openSSE(t, base+"/api/v1/logs/stream?level=info", bearer("acme", streamToken(t, "acme", "log:read")))
	ingestOne(t, other.URL, "acme", "from the other process")
	assert.Equal(t, []string{"from the other process"}, s.messages(t, 1))

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, "shutdown", s.end(t))
	require.NoError(t, cmd.Wait(), "clean exit after SIGTERM")
}
