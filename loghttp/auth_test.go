package loghttp_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore/bunstore"
)

// rawToken signs claims (valid ones for tenant acme with both permissions,
// changed by mod) with method and key.
func rawToken(tb testing.TB, method jwt.SigningMethod, key any, mod func(jwt.MapClaims)) string {
	tb.Helper()
	now := time.Now()
	c := jwt.MapClaims{
		"tenant_id": "acme", "permissions": []string{loghttp.PermRead, loghttp.PermWrite},
		"iss": issuer, "aud": audience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	if mod != nil {
		mod(c)
	}
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	require.NoError(tb, err)
	return s
}

func TestAuth(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newEnv(t, st, nil)
		hs := func(mod func(jwt.MapClaims)) string { return rawToken(t, jwt.SigningMethodHS256, secret, mod) }
		good := hs(nil)
		tests := []struct {
			name      string
			header    http.Header
			tenant    string
			status    int
			code      string
			field     string
			message   string
			challenge string // expected WWW-Authenticate, when set
		}{
			{name: "no Authorization header", tenant: "acme", status: 401, code: "unauthenticated", message: "missing bearer token", challenge: `Bearer realm="logs"`},
			{name: "no token and no tenant: 401 first", status: 401, code: "unauthenticated", message: "missing bearer token"},
			{name: "not bearer", header: http.Header{"Authorization": {"Basic YTpi"}}, tenant: "acme", status: 401, code: "unauthenticated",
				challenge: `Bearer realm="logs", error="invalid_token", error_description="the Authorization header must be: Bearer <token>"`},
			{name: "malformed token", header: bearer("abc.def"), tenant: "acme", status: 401, code: "unauthenticated", message: "malformed token",
				challenge: `Bearer realm="logs", error="invalid_token", error_description="malformed token"`},
			{name: "bad signature", header: bearer(rawToken(t, jwt.SigningMethodHS256, []byte("some-other-secret-some-other-secret!"), nil)), tenant: "acme", status: 401, code: "unauthenticated", message: "bad signature"},
			{name: "alg none", header: bearer(rawToken(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil)), tenant: "acme", status: 401, code: "unauthenticated", message: "signing algorithm not allowed"},
			{name: "expired", header: bearer(hs(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() })), tenant: "acme", status: 401, code: "unauthenticated", message: "token expired",
				challenge: `Bearer realm="logs", error="invalid_token", error_description="token expired"`},
			{name: "not valid yet", header: bearer(hs(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() })), tenant: "acme", status: 401, code: "unauthenticated", message: "token not valid yet"},
			{name: "no exp", header: bearer(hs(func(c jwt.MapClaims) { delete(c, "exp") })), tenant: "acme", status: 401, code: "unauthenticated", message: "token has no exp claim"},
			{name: "wrong issuer", header: bearer(hs(func(c jwt.MapClaims) { c["iss"] = "https://evil.test" })), tenant: "acme", status: 401, code: "unauthenticated", message: "wrong issuer"},
			{name: "wrong audience", header: bearer(hs(func(c jwt.MapClaims) { c["aud"] = "billing" })), tenant: "acme", status: 401, code: "unauthenticated", message: "wrong audience"},
			{name: "missing tenant_id", header: bearer(hs(func(c jwt.MapClaims) { delete(c, "tenant_id") })), tenant: "acme", status: 401, code: "unauthenticated", message: "token has no tenant_id claim"},
			{name: "missing X-Tenant-ID", header: bearer(good), status: 400, code: "invalid_argument", field: "X-Tenant-ID"},
			{name: "malformed X-Tenant-ID", header: bearer(good), tenant: "../acme", status: 400, code: "invalid_argument", field: "X-Tenant-ID"},
			{name: "too long X-Tenant-ID", header: bearer(good), tenant: strings.Repeat("a", 129), status: 400, code: "invalid_argument", field: "X-Tenant-ID"},
			{name: "X-Tenant-ID twice", header: http.Header{"Authorization": {"Bearer " + good}, "X-Tenant-Id": {"acme", "globex"}}, status: 400, code: "invalid_argument", field: "X-Tenant-ID"},
			{name: "X-Tenant-ID of another tenant", header: bearer(good), tenant: "globex", status: 403, code: "permission_denied", field: "X-Tenant-ID"},
			{name: "X-Tenant-ID differs in case", header: bearer(good), tenant: "ACME", status: 403, code: "permission_denied", field: "X-Tenant-ID"},
			{name: "tenant from scope claim is not enough", header: bearer(hs(func(c jwt.MapClaims) { c["tenant_id"] = "globex"; c["scope"] = "tenant:acme" })), tenant: "acme", status: 403, code: "permission_denied", field: "X-Tenant-ID"},
		}
		for _, tt := range tests {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				t.Run(tt.name+"/"+method, func(t *testing.T) {
					r := e.do(t, req{method: method, path: "/api/v1/logs", tenant: tt.tenant, header: tt.header,
						body: strings.NewReader(`{"level":"info","source":"auth","message":"must not be stored"}`)})
					r.requireError(t, tt.status, tt.code, tt.field)
					if tt.message != "" {
						assert.Equal(t, tt.message, r.Env.Error.Message)
					}
					if tt.challenge != "" {
						assert.Equal(t, tt.challenge, r.Header.Get("WWW-Authenticate"))
					}
					if tt.status == 401 {
						assert.True(t, strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer "))
					}
				})
			}
		}

		t.Run("missing permission", func(t *testing.T) {
			r := e.do(t, req{path: "/api/v1/logs", token: token(t, "acme", loghttp.PermWrite), tenant: "acme"})
			r.requireError(t, 403, "permission_denied", "")
			assert.Contains(t, r.Env.Error.Message, "log:read")
			assert.Equal(t, `Bearer realm="logs", error="insufficient_scope", scope="log:read"`, r.Header.Get("WWW-Authenticate"))

			r = e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: token(t, "acme", loghttp.PermRead), tenant: "acme",
				body: strings.NewReader(`{"level":"info","source":"auth","message":"must not be stored"}`)})
			r.requireError(t, 403, "permission_denied", "")
			assert.Contains(t, r.Env.Error.Message, "log:write")
		})
		t.Run("permission from the scope claim", func(t *testing.T) {
			tok := hs(func(c jwt.MapClaims) { delete(c, "permissions"); c["scope"] = "openid log:read" })
			var l list
			e.do(t, req{path: "/api/v1/logs", header: bearer(tok), tenant: "acme"}).data(t, 200, &l)
		})
		t.Run("nothing was stored", func(t *testing.T) {
			assert.Zero(t, e.list(t, "acme", "").Total)
			assert.Zero(t, e.list(t, "globex", "").Total)
		})
	})
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func TestNoAuthenticator(t *testing.T) {
	st := openStore(t, "sqlite")
	srv := newRawServer(t, loghttp.New(st, nil))
	r := srv.do(t, req{path: "/api/v1/logs", token: token(t, "acme", loghttp.PermRead), tenant: "acme"})
	r.requireError(t, 401, "unauthenticated", "")
}

// newRawServer serves h on loopback.
func newRawServer(tb testing.TB, h http.Handler) *env {
	tb.Helper()
	s := httptestServer(tb, h)
	return &env{URL: s}
}
