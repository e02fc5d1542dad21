package loghttp_test

import (
	"bytes"
	"encoding/json"
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

	"github.com/ithbat/logs/internal/openapitest"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/loghttp/jwtauth"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstore/bunstore"
)

var secret = []byte("loghttp-test-secret-0123456789abcdef")

const (
	issuer   = "https://id.test"
	audience = "logs"
)

// env is a Server over a real store behind real HTTP on 127.0.0.1:0.
type env struct {
	URL   string
	Store *bunstore.Store
	Logs  *logBuffer
}

// envOptions change the server of an env.
type envOptions struct {
	wrap func(logstore.Store) logstore.Store // wraps the store the server sees
	opts loghttp.Options
}

func openStore(tb testing.TB, backend string) *bunstore.Store {
	tb.Helper()
	st, err := bunstore.Open(tb.Context(), testdb.URL(tb, backend), &bunstore.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// authenticator verifies the tokens of token.
func authenticator(tb testing.TB) *jwtauth.Verifier {
	tb.Helper()
	v, err := jwtauth.New(&jwtauth.Options{Secret: secret, Issuer: issuer, Audience: audience})
	require.NoError(tb, err)
	return v
}

func newEnv(tb testing.TB, st *bunstore.Store, eo *envOptions) *env {
	tb.Helper()
	if eo == nil {
		eo = &envOptions{}
	}
	v := authenticator(tb)
	e := &env{Store: st, Logs: &logBuffer{}}
	var store logstore.Store = st
	if eo.wrap != nil {
		store = eo.wrap(st)
	}
	o := eo.opts
	o.Authenticator = v
	o.Logger = slog.New(slog.NewJSONHandler(e.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(loghttp.New(store, &o))
	tb.Cleanup(srv.Close)
	e.URL = srv.URL
	return e
}

// logBuffer collects the server's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// token mints a valid token for tenant with perms.
func token(tb testing.TB, tenant string, perms ...string) string {
	tb.Helper()
	s, err := jwtauth.Mint(secret, jwtauth.Grant{Tenant: tenant, Permissions: perms, TTL: time.Hour, Issuer: issuer, Audience: audience, Subject: "test"})
	require.NoError(tb, err)
	return s
}

// req is one request to the API.
type req struct {
	method string
	path   string
	token  string // Authorization: Bearer token, unless ""
	tenant string // X-Tenant-ID, unless ""
	body   io.Reader
	header http.Header
}

// resp is a response with its envelope decoded.
type resp struct {
	Status int
	Header http.Header
	Raw    []byte
	Env    struct {
		Success bool            `json:"success"`
		Data    json.RawMessage `json:"data"`
		Error   *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
}

// answerClient is the client of do: an answer that does not end (a stream
// opened by mistake) fails the test instead of hanging it.
var answerClient = &http.Client{Timeout: time.Minute}

func (e *env) do(tb testing.TB, r req) *resp {
	tb.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	hr, err := http.NewRequestWithContext(tb.Context(), r.method, e.URL+r.path, r.body)
	require.NoError(tb, err)
	for k, vs := range r.header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.tenant != "" {
		hr.Header.Set("X-Tenant-ID", r.tenant)
	}
	hresp, err := answerClient.Do(hr)
	require.NoError(tb, err)
	defer hresp.Body.Close()
	out := &resp{Status: hresp.StatusCode, Header: hresp.Header}
	out.Raw, err = io.ReadAll(hresp.Body)
	require.NoError(tb, err)
	openapitest.Check(tb, hr, out.Status, hresp.Header, out.Raw)
	require.NoError(tb, json.Unmarshal(out.Raw, &out.Env), "body %s", out.Raw)
	assert.Equal(tb, "application/json; charset=utf-8", hresp.Header.Get("Content-Type"))
	assert.NotEmpty(tb, hresp.Header.Get("X-Request-ID"))
	assert.Equal(tb, out.Env.Success, out.Env.Error == nil, "success iff no error: %s", out.Raw)
	return out
}

// requireError checks a failure envelope.
func (r *resp) requireError(tb testing.TB, status int, code, field string) {
	tb.Helper()
	require.Equal(tb, status, r.Status, "body %s", r.Raw)
	require.NotNil(tb, r.Env.Error, "body %s", r.Raw)
	assert.False(tb, r.Env.Success)
	assert.Equal(tb, code, r.Env.Error.Code, "body %s", r.Raw)
	assert.Equal(tb, field, r.Env.Error.Field, "body %s", r.Raw)
	assert.NotEmpty(tb, r.Env.Error.Message)
	assert.Nil(tb, r.Env.Data)
}

// data decodes the data of a success envelope into v.
func (r *resp) data(tb testing.TB, status int, v any) {
	tb.Helper()
	require.Equal(tb, status, r.Status, "body %s", r.Raw)
	require.True(tb, r.Env.Success, "body %s", r.Raw)
	require.NoError(tb, json.Unmarshal(r.Env.Data, v))
}

// list is the data of GET /api/v1/logs.
type list struct {
	Logs []struct {
		ID        string         `json:"id"`
		TenantID  string         `json:"tenantId"`
		Level     string         `json:"level"`
		Source    string         `json:"source"`
		Message   string         `json:"message"`
		Metadata  map[string]any `json:"metadata"`
		CreatedAt string         `json:"createdAt"`
	} `json:"logs"`
	Total int64 `json:"total"`
	Page  int   `json:"page"`
	Limit int   `json:"limit"`
}

func (l list) messages() []string {
	out := []string{}
	for _, e := range l.Logs {
		out = append(out, e.Message)
	}
	return out
}

// ingested is the data of a 201 to POST /api/v1/logs.
type ingested struct {
	IDs   []string `json:"ids"`
	Count int      `json:"count"`
}

func (e *env) list(tb testing.TB, tenant, query string) list {
	tb.Helper()
	var l list
	e.do(tb, req{path: "/api/v1/logs?" + query, token: token(tb, tenant, loghttp.PermRead), tenant: tenant}).data(tb, http.StatusOK, &l)
	return l
}

func (e *env) ingest(tb testing.TB, tenant, body string) ingested {
	tb.Helper()
	var in ingested
	e.do(tb, req{method: http.MethodPost, path: "/api/v1/logs", token: token(tb, tenant, loghttp.PermWrite), tenant: tenant,
		body: strings.NewReader(body), header: http.Header{"Content-Type": {"application/json"}}}).data(tb, http.StatusCreated, &in)
	return in
}

// backends runs f once per store backend, each on a fresh database.
func backends(t *testing.T, f func(t *testing.T, st *bunstore.Store)) {
	for _, b := range testdb.Backends() {
		t.Run(b, func(t *testing.T) { f(t, openStore(t, b)) })
	}
}

func httptestServer(tb testing.TB, h http.Handler) string {
	tb.Helper()
	s := httptest.NewServer(h)
	tb.Cleanup(s.Close)
	return s.URL
}
