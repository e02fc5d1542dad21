package loghttp_test

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstore/bunstore"
)

func TestTenantIsolation(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newEnv(t, st, nil)
		acme := e.ingest(t, "acme", `{"id":"0192f7a0-3b1c-7d2e-8f00-aaaaaaaaaaaa","level":"error","source":"auth","message":"acme secret event"}`)
		both := token(t, "globex", loghttp.PermRead, loghttp.PermWrite)

		t.Run("globex cannot read acme with its own token", func(t *testing.T) {
			r := e.do(t, req{path: "/api/v1/logs", token: both, tenant: "acme"})
			r.requireError(t, 403, "permission_denied", "X-Tenant-ID")
			assert.NotContains(t, string(r.Raw), "secret")
		})
		t.Run("globex sees none of acme's entries, whatever the filter", func(t *testing.T) {
			for _, q := range []string{"", "search=secret", "level=error&source=auth", "startDate=1970-01-01&endDate=2100-01-01&limit=500"} {
				l := e.list(t, "globex", q)
				assert.Zero(t, l.Total, q)
				assert.Empty(t, l.Logs, q)
			}
		})
		t.Run("globex cannot write into acme", func(t *testing.T) {
			r := e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: both, tenant: "acme",
				body: strings.NewReader(`{"level":"info","source":"a","message":"injected"}`)})
			r.requireError(t, 403, "permission_denied", "X-Tenant-ID")
			r = e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: both, tenant: "globex",
				body: strings.NewReader(`{"level":"info","source":"a","message":"injected","tenantId":"acme"}`)})
			r.requireError(t, 403, "permission_denied", "logs[0].tenantId")
		})
		t.Run("reusing acme's id writes globex's own entry and leaves acme's alone", func(t *testing.T) {
			var in ingested
			e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: both, tenant: "globex",
				body: strings.NewReader(`{"id":"` + acme.IDs[0] + `","level":"info","source":"a","message":"globex own event"}`)}).data(t, 201, &in)
			g := e.list(t, "globex", "")
			assert.Equal(t, []string{"globex own event"}, g.messages())
			assert.Equal(t, "globex", g.Logs[0].TenantID)
			a := e.list(t, "acme", "")
			assert.Equal(t, []string{"acme secret event"}, a.messages())
			assert.Equal(t, "acme", a.Logs[0].TenantID)
		})
		t.Run("acme's token cannot act as globex", func(t *testing.T) {
			r := e.do(t, req{path: "/api/v1/logs", token: token(t, "acme", loghttp.PermRead), tenant: "globex"})
			r.requireError(t, 403, "permission_denied", "X-Tenant-ID")
		})
	})
}

// failingStore is the real store with one method made to fail, to see what
// the client gets when the store breaks.
type failingStore struct {
	logstore.Store
	queryErr error
	panicMsg string
}

func (s *failingStore) Query(ctx context.Context, tenant string, f logquery.Filter) (logstore.Page, error) {
	if s.queryErr != nil {
		return logstore.Page{}, s.queryErr
	}
	return s.Store.Query(ctx, tenant, f)
}

func (s *failingStore) Append(ctx context.Context, tenant string, entries []logs.Entry) ([]logs.Entry, error) {
	if s.panicMsg != "" {
		panic(s.panicMsg)
	}
	return s.Store.Append(ctx, tenant, entries)
}

// leakyStore returns another tenant's entry: the server must not pass it on.
type leakyStore struct{ logstore.Store }

func (s leakyStore) Query(ctx context.Context, tenant string, f logquery.Filter) (logstore.Page, error) {
	return s.Store.Query(ctx, "victim", f)
}

func (s leakyStore) Scan(ctx context.Context, tenant string, f logquery.Filter, snap logstore.Snapshot) iter.Seq2[logs.Entry, error] {
	return s.Store.Scan(ctx, "victim", f, snap)
}

func TestServerErrors(t *testing.T) {
	st := openStore(t, "sqlite")
	_, err := st.Append(t.Context(), "victim", []logs.Entry{{Level: logs.LevelInfo, Source: "a", Message: "victim data"}})
	require.NoError(t, err)
	read := token(t, "acme", loghttp.PermRead)
	write := token(t, "acme", loghttp.PermWrite)

	t.Run("500 hides the cause and logs it with the request id", func(t *testing.T) {
		fs := &failingStore{Store: st, queryErr: errors.New("pgx: connect 10.1.2.3 user=logs password=hunter2: refused")}
		e := newEnv(t, st, &envOptions{wrap: func(logstore.Store) logstore.Store { return fs }})
		r := e.do(t, req{path: "/api/v1/logs", token: read, tenant: "acme", header: http.Header{"X-Request-ID": {"trace-42"}}})
		r.requireError(t, 500, "internal", "")
		assert.Equal(t, "internal error (request id trace-42)", r.Env.Error.Message)
		assert.NotContains(t, string(r.Raw), "hunter2")
		assert.NotContains(t, string(r.Raw), "10.1.2.3")
		assert.Equal(t, "trace-42", r.Header.Get("X-Request-ID"))
		logged := e.Logs.String()
		assert.Regexp(t, `"requestId":"trace-42".*hunter2`, logged)
	})
	t.Run("unavailable store is 503 with a generic message", func(t *testing.T) {
		fs := &failingStore{Store: st, queryErr: errors.Join(logs.ErrUnavailable, errors.New("dial tcp 10.9.9.9:5432: connection refused"))}
		e := newEnv(t, st, &envOptions{wrap: func(logstore.Store) logstore.Store { return fs }})
		r := e.do(t, req{path: "/api/v1/logs", token: read, tenant: "acme"})
		r.requireError(t, 503, "unavailable", "")
		assert.NotContains(t, string(r.Raw), "10.9.9.9")
	})
	t.Run("panic is a 500", func(t *testing.T) {
		fs := &failingStore{Store: st, panicMsg: "boom with secret internals"}
		e := newEnv(t, st, &envOptions{wrap: func(logstore.Store) logstore.Store { return fs }})
		r := e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: write, tenant: "acme", body: strings.NewReader(`{"level":"info","source":"a","message":"m"}`)})
		r.requireError(t, 500, "internal", "")
		assert.NotContains(t, string(r.Raw), "secret")
		assert.Contains(t, e.Logs.String(), "boom with secret internals")
	})
	t.Run("a store returning another tenant's entries is caught", func(t *testing.T) {
		e := newEnv(t, st, &envOptions{wrap: func(s logstore.Store) logstore.Store { return leakyStore{s} }})
		r := e.do(t, req{path: "/api/v1/logs", token: read, tenant: "acme"})
		r.requireError(t, 500, "internal", "")
		assert.NotContains(t, string(r.Raw), "victim")
	})

	e := newEnv(t, st, nil)
	t.Run("unknown route", func(t *testing.T) {
		for _, p := range []string{"/", "/api/v1/log", "/api/v1/logs/", "/api//v1/logs", "/api/v2/logs", "/api/v1/logs/x/y"} {
			r := e.do(t, req{path: p, token: read, tenant: "acme"})
			r.requireError(t, 404, "not_found", "")
		}
	})
	t.Run("unknown method", func(t *testing.T) {
		for _, m := range []string{http.MethodDelete, http.MethodPut, http.MethodPatch} {
			r := e.do(t, req{method: m, path: "/api/v1/logs", token: write, tenant: "acme"})
			r.requireError(t, 405, "method_not_allowed", "")
			assert.Equal(t, "GET, HEAD, POST", r.Header.Get("Allow"))
		}
		r := e.do(t, req{method: http.MethodPost, path: "/healthz"})
		r.requireError(t, 405, "method_not_allowed", "")
		assert.Equal(t, "GET, HEAD", r.Header.Get("Allow"))
	})
	t.Run("request id", func(t *testing.T) {
		uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
		r := e.do(t, req{path: "/api/v1/logs", token: read, tenant: "acme"})
		assert.Regexp(t, uuidRE, r.Header.Get("X-Request-ID"))
		other := e.do(t, req{path: "/api/v1/logs", token: read, tenant: "acme"})
		assert.NotEqual(t, r.Header.Get("X-Request-ID"), other.Header.Get("X-Request-ID"))
		for _, sane := range []string{"abc", "req-1.2:3_4+5=6/7", strings.Repeat("a", 128)} {
			r := e.do(t, req{path: "/healthz", header: http.Header{"X-Request-ID": {sane}}})
			assert.Equal(t, sane, r.Header.Get("X-Request-ID"))
		}
		for _, insane := range []string{"has space", strings.Repeat("a", 129), "<script>", "a\"b"} {
			r := e.do(t, req{path: "/nope", header: http.Header{"X-Request-ID": {insane}}})
			assert.Regexp(t, uuidRE, r.Header.Get("X-Request-ID"), insane)
		}
		r = e.do(t, req{path: "/api/v1/logs"})
		assert.NotEmpty(t, r.Header.Get("X-Request-ID"), "401s carry it too")
	})
	t.Run("security headers", func(t *testing.T) {
		r := e.do(t, req{path: "/api/v1/logs", token: read, tenant: "acme"})
		assert.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"))
		assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	})
	t.Run("healthz", func(t *testing.T) {
		var h map[string]string
		e.do(t, req{path: "/healthz"}).data(t, 200, &h)
		assert.Equal(t, map[string]string{"status": "ok"}, h)

		closed := openStore(t, "sqlite")
		require.NoError(t, closed.Close())
		e2 := newEnv(t, closed, nil)
		e2.do(t, req{path: "/healthz"}).data(t, 200, &h) // alive: /readyz says the store is gone
		e2.do(t, req{path: "/readyz"}).requireError(t, 503, "unavailable", "database")
	})
	t.Run("access log", func(t *testing.T) {
		e.do(t, req{path: "/api/v1/logs", token: read, tenant: "acme", header: http.Header{"X-Request-ID": {"access-1"}}})
		assert.Regexp(t, `"msg":"request".*"requestId":"access-1".*"status":200.*"tenant":"acme"`, e.Logs.String())
	})
}

func TestStatusTable(t *testing.T) {
	for code, status := range map[logs.ErrorCode]int{
		logs.CodeInvalid: 400, logs.CodeUnauthenticated: 401, logs.CodePermissionDenied: 403, logs.CodeNotFound: 404, logs.CodeConflict: 409,
		logs.CodeTooLarge: 413, logs.CodeRateLimited: 429, logs.CodeUnavailable: 503, logs.CodeInternal: 500, "made_up": 500,
	} {
		assert.Equal(t, status, loghttp.Status(code), code)
	}
}
