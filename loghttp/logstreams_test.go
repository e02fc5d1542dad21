package loghttp_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logsink"
	"github.com/ithbat/logs/logstore/bunstore"
)

type streamData struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	URL       string            `json:"url"`
	Filter    map[string]string `json:"filter"`
	BatchSize int               `json:"batchSize"`
	Status    string            `json:"status"`
	Reason    string            `json:"reason"`
	Delivered int64             `json:"delivered"`
	Lag       struct {
		Entries int64   `json:"entries"`
		Seconds float64 `json:"seconds"`
	} `json:"lag"`
	LastError     *struct{ Message, At string } `json:"lastError"`
	LastSuccessAt *string                       `json:"lastSuccessAt"`
	StartDate     *string                       `json:"startDate"`
	Secret        string                        `json:"secret"`
}

func streamsEnv(t *testing.T, st *bunstore.Store, allowPrivate bool) *env {
	m := logsink.New(st, st, st, &logsink.Options{Guard: &logsink.Guard{AllowPrivate: allowPrivate}, Settings: st,
		Logger: slog.New(slog.DiscardHandler), Sync: 50 * time.Millisecond, MaxPerTenant: 3})
	m.Start()
	t.Cleanup(func() { _ = m.Close() })
	return newEnv(t, st, &envOptions{opts: loghttp.Options{LogStreams: m}})
}

func (e *env) streams(t *testing.T, method, path, tenant, body string) *resp {
	r := req{method: method, path: "/api/v1/log-streams" + path, token: token(t, tenant, loghttp.PermAdmin), tenant: tenant}
	if body != "" {
		r.body, r.header = strings.NewReader(body), http.Header{"Content-Type": {"application/json"}}
	}
	return e.do(t, r)
}

// TestLogStreamsAPI: a tenant admin creates a webhook stream with one
// request and receives the matching entries signed; lists, reads, pauses,
// resumes and deletes it; another tenant's stream is a 404.
func TestLogStreamsAPI(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := streamsEnv(t, st, true)
		var mu sync.Mutex
		var got []string
		var secret string
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			if logsink.Verify(secret, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body, time.Now(), time.Minute) != nil {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			var b struct{ Logs []logs.Entry }
			require.NoError(t, json.Unmarshal(body, &b))
			for _, e := range b.Logs {
				got = append(got, e.Message)
			}
		}))
		defer rcv.Close()

		var s streamData
		r := e.streams(t, http.MethodPost, "", "acme", fmt.Sprintf(`{"type":"webhook","url":%q,"filter":{"level":"error"},"batchSize":50}`, rcv.URL+"/hook"))
		mu.Lock()
		r.data(t, http.StatusCreated, &s)
		secret = s.Secret
		mu.Unlock()
		assert.Equal(t, "/api/v1/log-streams/"+s.ID, r.Header.Get("Location"))
		assert.True(t, strings.HasPrefix(s.Secret, "whsec_"))
		assert.Equal(t, "active", s.Status)
		assert.Equal(t, map[string]string{"level": "error"}, s.Filter)

		e.ingest(t, "acme", `{"logs":[{"level":"error","source":"auth","message":"one"},{"level":"info","source":"auth","message":"skip"},{"level":"error","source":"auth","message":"two"}]}`)
		e.ingest(t, "globex", `{"level":"error","source":"auth","message":"not yours"}`)
		require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 }, 30*time.Second, 20*time.Millisecond)
		mu.Lock()
		assert.Equal(t, []string{"one", "two"}, got)
		mu.Unlock()

		require.Eventually(t, func() bool {
			var v streamData
			e.streams(t, http.MethodGet, "/"+s.ID, "acme", "").data(t, http.StatusOK, &v)
			return v.Delivered == 2 && v.Lag.Entries == 0 && v.LastSuccessAt != nil
		}, 30*time.Second, 20*time.Millisecond)
		var one streamData
		e.streams(t, http.MethodGet, "/"+s.ID, "acme", "").data(t, http.StatusOK, &one)
		assert.Empty(t, one.Secret, "the secret is shown once")
		var all []streamData
		e.streams(t, http.MethodGet, "", "acme", "").data(t, http.StatusOK, &all)
		require.Len(t, all, 1)
		e.streams(t, http.MethodGet, "", "globex", "").data(t, http.StatusOK, &all)
		assert.Empty(t, all, "another tenant sees none")

		// Another tenant's stream is a 404, whatever the method.
		for _, m := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
			body := ""
			if m == http.MethodPatch {
				body = `{"status":"paused"}`
			}
			e.streams(t, m, "/"+s.ID, "globex", body).requireError(t, http.StatusNotFound, "not_found", "")
		}
		e.streams(t, http.MethodPost, "/"+s.ID+"/secret", "globex", "").requireError(t, http.StatusNotFound, "not_found", "")
		e.streams(t, http.MethodGet, "/ls-nope", "acme", "").requireError(t, http.StatusNotFound, "not_found", "")
		e.streams(t, http.MethodGet, "/"+strings.Repeat("x", 5000), "acme", "").requireError(t, http.StatusNotFound, "not_found", "")

		// Pause: nothing is delivered; resume: delivery goes on.
		e.streams(t, http.MethodPatch, "/"+s.ID, "acme", `{"status":"paused"}`).data(t, http.StatusOK, &one)
		assert.Equal(t, "paused", one.Status)
		assert.Equal(t, "paused by the tenant", one.Reason)
		e.ingest(t, "acme", `{"level":"error","source":"auth","message":"three"}`)
		one = streamData{}
		e.streams(t, http.MethodPatch, "/"+s.ID, "acme", `{"status":"active","filter":{"source":"auth"}}`).data(t, http.StatusOK, &one)
		assert.Equal(t, "active", one.Status)
		assert.Equal(t, map[string]string{"source": "auth"}, one.Filter)
		require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 3 }, 30*time.Second, 20*time.Millisecond)

		// Rotation: the new secret is shown once and verifies.
		var rot streamData
		e.streams(t, http.MethodPost, "/"+s.ID+"/secret", "acme", "").data(t, http.StatusOK, &rot)
		require.True(t, strings.HasPrefix(rot.Secret, "whsec_"))
		mu.Lock()
		secret = rot.Secret
		mu.Unlock()
		e.ingest(t, "acme", `{"level":"info","source":"auth","message":"four"}`)
		require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 4 }, 30*time.Second, 20*time.Millisecond)

		var del map[string]any
		e.streams(t, http.MethodDelete, "/"+s.ID, "acme", "").data(t, http.StatusOK, &del)
		e.streams(t, http.MethodGet, "/"+s.ID, "acme", "").requireError(t, http.StatusNotFound, "not_found", "")
		e.streams(t, http.MethodDelete, "/"+s.ID, "acme", "").requireError(t, http.StatusNotFound, "not_found", "")
	})
}

// TestLogStreamsHostile: every bad request is a 400 naming the field (or
// the 403/404 of its kind), never a 500; a URL to a private address
// without the operator's permission is a 400.
func TestLogStreamsHostile(t *testing.T) {
	st := openStore(t, "sqlite")
	e := streamsEnv(t, st, false)
	for _, tc := range []struct{ body, field string }{
		{`{"type":"webhook","url":"http://127.0.0.1:9/hook"}`, "url"},
		{`{"type":"webhook","url":"https://127.0.0.1/hook"}`, "url"},
		{`{"type":"webhook","url":"https://[::1]/"}`, "url"},
		{`{"type":"webhook","url":"https://169.254.169.254/latest/meta-data/"}`, "url"},
		{`{"type":"webhook","url":"https://localhost./"}`, "url"},
		{`{"type":"webhook","url":"https://2130706433/"}`, "url"},
		{`{"type":"webhook","url":"https://0x7f.1/"}`, "url"},
		{`{"type":"webhook","url":"https://a@93.184.215.14/"}`, "url"},
		{`{"type":"webhook","url":"javascript:alert(1)"}`, "url"},
		{`{"type":"webhook","url":"https://93.184.215.14/\u0000"}`, "url"},
		{`{"type":"webhook","url":"` + "https://" + strings.Repeat("a", 4000) + `"}`, "url"},
		{`{"type":"webhook","url":5}`, "url"},
		{`{"type":"webhook"}`, "url"},
		{`{"type":"webhook","url":"https://93.184.215.14/","batchSize":0}`, "batchSize"},
		{`{"type":"webhook","url":"https://93.184.215.14/","batchSize":1e9}`, "batchSize"},
		{`{"type":"webhook","url":"https://93.184.215.14/","batchSize":"10"}`, "batchSize"},
		{`{"type":"webhook","url":"https://93.184.215.14/","filter":{"level":"fatal"}}`, "filter.level"},
		{`{"type":"webhook","url":"https://93.184.215.14/","filter":{"startDate":"2026-01-01"}}`, "filter.startDate"},
		{`{"type":"webhook","url":"https://93.184.215.14/","filter":{"search":"` + strings.Repeat("x ", 600) + `"}}`, "filter.search"},
		{`{"type":"webhook","url":"https://93.184.215.14/","filter":{"level":"error","level":"warn"}}`, "filter.level"},
		{`{"type":"webhook","url":"https://93.184.215.14/","filter":"error"}`, "filter"},
		{`{"type":"webhook","url":"https://93.184.215.14/","gzip":"yes"}`, "gzip"},
		{`{"type":"webhook","url":"https://93.184.215.14/","startDate":"yesterday"}`, "startDate"},
		{`{"type":"webhook","url":"https://93.184.215.14/","startDate":"2999-01-01T00:00:00Z"}`, "startDate"},
		{`{"type":"webhook","url":"https://93.184.215.14/","secret":"whsec_x"}`, "secret"},
		{`{"type":"blob","url":"s3://bucket/prefix"}`, "type"},
		{`{"type":"kafka","url":"https://93.184.215.14/"}`, "type"},
		{`{"url":"https://93.184.215.14/"}`, "type"},
		{`{"type":"webhook","url":"https://93.184.215.14/\r\nX-Injected: 1"}`, "url"},
		{`{"type":"webhook","url":"https://[::]/"}`, "url"},
		{`{"type":"webhook","url":"https://0/"}`, "url"},
		{`{"type":"webhook","url":"https://127.1/"}`, "url"},
		{`{"type":"webhook","url":"https://[fe80::1%25eth0]/"}`, "url"},
		{`{"type":"webhook","url":"https://[::ffff:169.254.169.254]/"}`, "url"},
		{`{"type":"webhook","url":"https://93.184.215.14/#frag"}`, "url"},
		{`{"type":"webhook","url":"//93.184.215.14/"}`, "url"},
		{`{"type":"webhook","url":"https://93.184.215.14/","filter":{"level":{"$ne":1}}}`, "filter.level"},
		{`{"type":"webhook","url":"https://93.184.215.14/","filter":{"source":"` + strings.Repeat("s", 200) + `"}}`, "filter.source"},
		{`{"type":"webhook","url":"https://93.184.215.14/","filter":{"search":"a\u0000b"}}`, "filter.search"},
		{`{"type":"webhook","url":"https://93.184.215.14/","filter":{"tenantId":"globex"}}`, "filter.tenantId"},
		{`{"type":"webhook","url":"https://93.184.215.14/","type":"blob"}`, "type"},
	} {
		e.streams(t, http.MethodPost, "", "acme", tc.body).requireError(t, http.StatusBadRequest, "invalid_argument", tc.field)
	}
	e.streams(t, http.MethodPost, "", "acme", `[]`).requireError(t, http.StatusBadRequest, "invalid_argument", "")
	e.streams(t, http.MethodPost, "", "acme", strings.Repeat(" ", 20<<10)).requireError(t, http.StatusRequestEntityTooLarge, "payload_too_large", "")
	e.do(t, req{method: http.MethodPost, path: "/api/v1/log-streams", token: token(t, "acme", loghttp.PermRead, loghttp.PermWrite), tenant: "acme",
		body: strings.NewReader(`{"type":"webhook","url":"https://93.184.215.14/"}`)}).requireError(t, http.StatusForbidden, "permission_denied", "")
	e.do(t, req{method: http.MethodGet, path: "/api/v1/log-streams", token: token(t, "acme", loghttp.PermAdmin), tenant: "globex"}).
		requireError(t, http.StatusForbidden, "permission_denied", "X-Tenant-ID")

	var s streamData
	e.streams(t, http.MethodPost, "", "acme", `{"type":"webhook","url":"https://93.184.215.14/hook"}`).data(t, http.StatusCreated, &s)
	for _, tc := range []struct{ body, field string }{
		{`{"status":"failing"}`, "status"},
		{`{"status":null}`, "status"},
		{`{"url":"https://10.0.0.1/"}`, "url"},
		{`{"batchSize":-1}`, "batchSize"},
		{`{"type":"blob"}`, "type"},
		{`{"gzip":true}`, "gzip"},
	} {
		e.streams(t, http.MethodPatch, "/"+s.ID, "acme", tc.body).requireError(t, http.StatusBadRequest, "invalid_argument", tc.field)
	}
	e.streams(t, http.MethodPost, "", "acme", `{"type":"webhook","url":"https://93.184.215.14/hook"}`).data(t, http.StatusCreated, &s)
	e.streams(t, http.MethodPost, "", "acme", `{"type":"webhook","url":"https://93.184.215.14/hook"}`).data(t, http.StatusCreated, &s)
	e.streams(t, http.MethodPost, "", "acme", `{"type":"webhook","url":"https://93.184.215.14/hook"}`).requireError(t, http.StatusConflict, "conflict", "")
	assert.NotContains(t, e.Logs.String(), `"status":500`)
}

// TestLogStreamStartDateWithinRetention: a stream may start in the past,
// not before the tenant's retention.
func TestLogStreamStartDateWithinRetention(t *testing.T) {
	st, err := bunstore.Open(t.Context(), testdb.URL(t, "sqlite"), &bunstore.Options{Retention: 30 * 24 * time.Hour, MaxRetention: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	e := streamsEnv(t, st, true)
	old := time.Now().Add(-40 * 24 * time.Hour).UTC().Format(time.RFC3339)
	e.streams(t, http.MethodPost, "", "acme", `{"type":"webhook","url":"https://93.184.215.14/","startDate":"`+old+`"}`).
		requireError(t, http.StatusBadRequest, "invalid_argument", "startDate")
	var s streamData
	recent := time.Now().Add(-10 * 24 * time.Hour).UTC().Format(time.DateOnly)
	e.streams(t, http.MethodPost, "", "acme", `{"type":"webhook","url":"https://93.184.215.14/","startDate":"`+recent+`"}`).
		data(t, http.StatusCreated, &s)
	require.NotNil(t, s.StartDate)
	assert.True(t, strings.HasPrefix(*s.StartDate, recent))
}
