package loghttp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/openapitest"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore/bunstore"
)

func TestHealthAndReadiness(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newEnv(t, st, nil)
		var h map[string]string
		e.do(t, req{path: "/healthz"}).data(t, 200, &h)
		assert.Equal(t, map[string]string{"status": "ok"}, h)
		var ready struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		e.do(t, req{path: "/readyz"}).data(t, 200, &ready)
		assert.Equal(t, "ok", ready.Status)
		assert.Equal(t, map[string]string{"database": "ok"}, ready.Checks)

		t.Run("checks that fail name themselves", func(t *testing.T) {
			ok := func(context.Context) error { return nil }
			e2 := newEnv(t, st, &envOptions{opts: loghttp.Options{Ready: []loghttp.ReadyCheck{
				{Name: "database", Check: ok},
				{Name: "schema", Check: func(context.Context) error { return errors.New("secret internal detail: migration 7 missing") }},
				{Name: "blob", Check: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
			}}})
			r := e2.do(t, req{path: "/readyz"})
			r.requireError(t, 503, "unavailable", "schema")
			assert.Contains(t, r.Env.Error.Message, "schema, blob")
			assert.NotContains(t, string(r.Raw), "secret internal detail")
			assert.Contains(t, e2.Logs.String(), "secret internal detail", "the cause is logged")
			e2.do(t, req{path: "/healthz"}).data(t, 200, &h) // alive all the same
		})
	})
	t.Run("a closed store is not ready, the process still alive", func(t *testing.T) {
		closed := openStore(t, "sqlite")
		require.NoError(t, closed.Close())
		e := newEnv(t, closed, nil)
		e.do(t, req{path: "/readyz"}).requireError(t, 503, "unavailable", "database")
		var h map[string]string
		e.do(t, req{path: "/healthz"}).data(t, 200, &h)
	})
}

// scrape reads the server's /metrics, parsed.
func scrape(tb testing.TB, url string, header http.Header) map[string]float64 {
	tb.Helper()
	hr, err := http.NewRequest(http.MethodGet, url+"/metrics", nil)
	require.NoError(tb, err)
	hr.Header = header
	res, err := http.DefaultClient.Do(hr)
	require.NoError(tb, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(tb, err)
	openapitest.Check(tb, hr, res.StatusCode, res.Header, body)
	require.Equal(tb, 200, res.StatusCode, "%s", body)
	assert.Contains(tb, res.Header.Get("Content-Type"), "text/plain")
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	require.NoError(tb, err)
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := name
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[key+"_count"] = float64(m.GetHistogram().GetSampleCount())
			default:
				out[key] = m.GetUntyped().GetValue()
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	st := openStore(t, "sqlite")
	e := newEnv(t, st, nil)
	e.ingest(t, "acme", `{"logs":[{"level":"info","source":"a","message":"one"},{"level":"info","source":"a","message":"two"}]}`)
	e.ingest(t, "acme", `{"level":"info","source":"a","message":"three"}`)
	e.list(t, "acme", "")
	e.do(t, req{path: "/api/v1/logs", token: token(t, "acme", loghttp.PermRead), tenant: "other"}).requireError(t, 403, "permission_denied", "X-Tenant-ID")
	e.do(t, req{path: "/no/such/thing"}).requireError(t, 404, "not_found", "")
	e.do(t, req{method: "BREW", path: "/api/v1/logs"})

	m := scrape(t, e.URL, nil)
	assert.Equal(t, 3.0, m[`logsd_ingested_entries_total{path=api}`])
	assert.Equal(t, 2.0, m[`logsd_http_requests_total{method=POST,route=/api/v1/logs,status=201}`])
	assert.Equal(t, 1.0, m[`logsd_http_requests_total{method=GET,route=/api/v1/logs,status=200}`])
	assert.Equal(t, 1.0, m[`logsd_http_requests_total{method=GET,route=/api/v1/logs,status=403}`])
	assert.Equal(t, 1.0, m[`logsd_http_requests_total{method=GET,route=unmatched,status=404}`], "an unknown path is no label of its own")
	assert.Equal(t, 1.0, m[`logsd_http_requests_total{method=other,route=unmatched,status=405}`], "nor a made-up method")
	assert.Equal(t, 3.0, m[`logsd_http_request_duration_seconds{method=POST,route=/api/v1/logs}_count`]+m[`logsd_http_request_duration_seconds{method=GET,route=/api/v1/logs}_count`]-1)
	assert.Contains(t, m, "go_goroutines", "Go runtime metrics")
	assert.Contains(t, m, "process_start_time_seconds", "process metrics")
	for k := range m {
		assert.NotContains(t, k, "acme", "no tenant in a label: their number is unbounded")
	}

	t.Run("access", func(t *testing.T) {
		get := func(url string, remote string, header http.Header) int {
			// Through the handler itself, to come from another address
			// than loopback.
			srv := loghttp.New(st, &loghttp.Options{MetricsAccess: mustAccess(t, url)})
			r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			r.RemoteAddr = remote
			r.Header = header
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r)
			return w.Code
		}
		bearer := http.Header{"Authorization": {"Bearer scrape-secret-0123456789"}}
		for _, c := range []struct {
			setting, remote string
			header          http.Header
			want            int
		}{
			{"", "127.0.0.1:5000", nil, 200},
			{"", "[::1]:5000", nil, 200},
			{"", "192.0.2.7:5000", nil, 404},
			{"open", "192.0.2.7:5000", nil, 200},
			{"off", "127.0.0.1:5000", nil, 404},
			{"token:scrape-secret-0123456789", "192.0.2.7:5000", nil, 401},
			{"token:scrape-secret-0123456789", "192.0.2.7:5000", http.Header{"Authorization": {"Bearer wrong"}}, 401},
			{"token:scrape-secret-0123456789", "192.0.2.7:5000", bearer, 200},
		} {
			assert.Equal(t, c.want, get(c.setting, c.remote, c.header), "LOGSD_METRICS=%q from %s with %v", c.setting, c.remote, c.header)
		}
		_, err := loghttp.ParseMetricsAccess("token:short")
		assert.Error(t, err)
		_, err = loghttp.ParseMetricsAccess("sometimes")
		assert.Error(t, err)
	})
}

func mustAccess(tb testing.TB, s string) loghttp.MetricsAccess {
	a, err := loghttp.ParseMetricsAccess(s)
	require.NoError(tb, err)
	return a
}

func TestRateLimits(t *testing.T) {
	st := openStore(t, "sqlite")
	// A rate so small that the bucket does not refill during the test.
	e := newEnv(t, st, &envOptions{opts: loghttp.Options{Limits: loghttp.Limits{RPS: 0.001, Burst: 3, IngestEPS: 0.001}}})
	t.Run("requests", func(t *testing.T) {
		read := token(t, "busy", loghttp.PermRead)
		for range 3 {
			require.Equal(t, 200, e.do(t, req{path: "/api/v1/logs", token: read, tenant: "busy"}).Status)
		}
		r := e.do(t, req{path: "/api/v1/logs", token: read, tenant: "busy"})
		r.requireError(t, 429, "rate_limited", "")
		assert.Regexp(t, `^[0-9]+$`, r.Header.Get("Retry-After"))
		assert.Greater(t, atoi(t, r.Header.Get("Retry-After")), 100, "the bucket refills one request per 1000 s")
		assert.Contains(t, r.Env.Error.Message, "retry after")
		// Another tenant is not slowed.
		require.Equal(t, 200, e.do(t, req{path: "/api/v1/logs", token: token(t, "calm", loghttp.PermRead), tenant: "calm"}).Status)
		// Unauthenticated requests spend no tenant's budget, and neither do
		// the public routes.
		e.do(t, req{path: "/api/v1/logs", tenant: "calm"}).requireError(t, 401, "unauthenticated", "")
		require.Equal(t, 200, e.do(t, req{path: "/healthz"}).Status)
		m := scrape(t, e.URL, nil)
		assert.Equal(t, 1.0, m[`logsd_rate_limited_requests_total{limit=requests}`])
	})
	t.Run("ingest entries", func(t *testing.T) {
		// IngestEPS 1: a request may carry one entry. No request limit here.
		e := newEnv(t, st, &envOptions{opts: loghttp.Options{Limits: loghttp.Limits{RPS: -1, IngestEPS: 1}}})
		e.ingest(t, "writer", `{"level":"info","source":"a","message":"one"}`)
		write := token(t, "writer", loghttp.PermWrite)
		r := e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: write, tenant: "writer",
			body: strings.NewReader(`{"logs":[{"level":"info","source":"a","message":"one"},{"level":"info","source":"a","message":"two"}]}`)})
		r.requireError(t, 413, "payload_too_large", "")
		assert.Contains(t, r.Env.Error.Message, "at most 1 per second")
	})
}

func atoi(tb testing.TB, s string) int {
	var n int
	_, err := fmt.Sscan(s, &n)
	require.NoError(tb, err)
	return n
}

func TestAccessLog(t *testing.T) {
	st := openStore(t, "sqlite")
	e := newEnv(t, st, nil)
	write := token(t, "acme", loghttp.PermWrite)
	e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: write, tenant: "acme",
		body: strings.NewReader(`{"level":"info","source":"a","message":"m"}`), header: http.Header{"X-Request-ID": {"req-42"}}})
	e.do(t, req{path: "/api/v1/logs/export/exp-x?access_token=" + write, tenant: "acme"})
	logs := e.Logs.String()
	var line string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"requestId":"req-42"`) && strings.Contains(l, `"msg":"request"`) {
			assert.Empty(t, line, "one line per request")
			line = l
		}
	}
	require.NotEmpty(t, line, logs)
	for _, want := range []string{`"route":"/api/v1/logs"`, `"status":201`, `"tenant":"acme"`, `"duration":`, `"method":"POST"`} {
		assert.Contains(t, line, want)
	}
	assert.NotContains(t, logs, write, "a token is never logged, not even one sent in a URL")
	assert.NotContains(t, logs, strings.Split(write, ".")[2], "nor its signature")
}

func TestCORS(t *testing.T) {
	st := openStore(t, "sqlite")
	const console = "https://console.example.com"
	e := newEnv(t, st, &envOptions{opts: loghttp.Options{CORSOrigins: []string{console}}})
	preflight := func(url, origin string) *http.Response {
		hr, err := http.NewRequest(http.MethodOptions, url+"/api/v1/logs", nil)
		require.NoError(t, err)
		hr.Header.Set("Origin", origin)
		hr.Header.Set("Access-Control-Request-Method", "GET")
		hr.Header.Set("Access-Control-Request-Headers", "authorization,last-event-id,x-tenant-id") // as browsers send it
		res, err := http.DefaultClient.Do(hr)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	res := preflight(e.URL, console)
	assert.Less(t, res.StatusCode, 300, "a preflight from an allowed origin succeeds")
	assert.Equal(t, console, res.Header.Get("Access-Control-Allow-Origin"))
	allowed := strings.ToLower(res.Header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"authorization", "x-tenant-id", "last-event-id"} {
		assert.Contains(t, allowed, h)
	}
	res = preflight(e.URL, "https://evil.example")
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), "another origin is not allowed")

	r := e.do(t, req{path: "/api/v1/logs", token: token(t, "acme", loghttp.PermRead), tenant: "acme", header: http.Header{"Origin": {console}}})
	require.Equal(t, 200, r.Status)
	assert.Equal(t, console, r.Header.Get("Access-Control-Allow-Origin"))
	exposed := strings.ToLower(r.Header.Get("Access-Control-Expose-Headers"))
	for _, h := range []string{"x-request-id", "retry-after", "location"} {
		assert.Contains(t, exposed, h)
	}
	r = e.do(t, req{path: "/api/v1/logs", token: token(t, "acme", loghttp.PermRead), tenant: "acme", header: http.Header{"Origin": {"https://evil.example"}}})
	assert.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))

	// Without origins configured, nothing changes: OPTIONS is a 405.
	plain := newEnv(t, st, nil)
	res = preflight(plain.URL, console)
	assert.Equal(t, 405, res.StatusCode)
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))
}

func TestCompressedAnswers(t *testing.T) {
	st := openStore(t, "sqlite")
	e := newEnv(t, st, nil)
	var sb strings.Builder
	sb.WriteString(`{"logs":[`)
	for i := range 200 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"level":"info","source":"auth","message":"User signed in %d","metadata":{"ip":"102.45.67.89"}}`, i)
	}
	sb.WriteString("]}")
	e.ingest(t, "zipped", sb.String())
	get := func(path string, enc string) (*http.Response, []byte) {
		hr, err := http.NewRequest(http.MethodGet, e.URL+path, nil)
		require.NoError(t, err)
		hr.Header.Set("Authorization", "Bearer "+token(t, "zipped", loghttp.PermRead))
		hr.Header.Set("X-Tenant-ID", "zipped")
		if enc != "" {
			hr.Header.Set("Accept-Encoding", enc) // set by hand: the transport does not decompress then
		} else {
			hr.Header.Set("Accept-Encoding", "identity")
		}
		res, err := http.DefaultClient.Do(hr)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, b
	}
	plainRes, plain := get("/api/v1/logs?limit=500", "")
	require.Equal(t, 200, plainRes.StatusCode)
	assert.Empty(t, plainRes.Header.Get("Content-Encoding"))

	res, zipped := get("/api/v1/logs?limit=500", "gzip")
	require.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
	assert.Contains(t, res.Header.Values("Vary"), "Accept-Encoding")
	assert.Less(t, len(zipped), len(plain)/3, "a page of similar entries compresses well")
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	require.NoError(t, err)
	unzipped, err := io.ReadAll(zr)
	require.NoError(t, err)
	var a, b map[string]any
	require.NoError(t, json.Unmarshal(plain, &a))
	require.NoError(t, json.Unmarshal(unzipped, &b))
	assert.Equal(t, a, b, "the same answer")
	assert.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"))

	res, small := get("/healthz", "gzip")
	assert.Empty(t, res.Header.Get("Content-Encoding"), "small answers stay plain")
	assert.JSONEq(t, `{"success":true,"data":{"status":"ok"}}`, string(small))

	res, errBody := get("/api/v1/logs?level=nope", "gzip")
	assert.Equal(t, 400, res.StatusCode)
	assert.Contains(t, string(errBody), "invalid_argument", "errors are small and plain")
}
