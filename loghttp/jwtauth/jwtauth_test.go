package jwtauth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/loghttp/jwtauth"
)

var secret = []byte("0123456789abcdef0123456789abcdef-test-secret")

// claims returns valid claims for tenant acme, changed by mods.
func claims(mods ...func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"tenant_id":   "acme",
		"permissions": []string{"log:read"},
		"sub":         "user-1",
		"iat":         now.Unix(),
		"exp":         now.Add(time.Hour).Unix(),
	}
	for _, m := range mods {
		m(c)
	}
	return c
}

func sign(tb testing.TB, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	tb.Helper()
	t := jwt.NewWithClaims(m, c)
	if kid != "" {
		t.Header["kid"] = kid
	}
	s, err := t.SignedString(key)
	require.NoError(tb, err)
	return s
}

func hs(tb testing.TB, c jwt.MapClaims) string {
	return sign(tb, jwt.SigningMethodHS256, secret, "", c)
}

// unsigned returns a token with alg none.
func unsigned(tb testing.TB, c jwt.MapClaims) string {
	return sign(tb, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", c)
}

func verifier(tb testing.TB, o jwtauth.Options) *jwtauth.Verifier {
	tb.Helper()
	v, err := jwtauth.New(&o)
	require.NoError(tb, err)
	return v
}

func authenticate(v *jwtauth.Verifier, header ...string) (loghttp.Principal, error) {
	r := httptest.NewRequest(http.MethodGet, "/api/v1/logs", nil)
	for _, h := range header {
		r.Header.Add("Authorization", h)
	}
	return v.Authenticate(r)
}

// requireRefused checks that err is a 401 with the given reason.
func requireRefused(tb testing.TB, err error, reason string) {
	tb.Helper()
	require.Error(tb, err)
	assert.ErrorIs(tb, err, logs.ErrUnauthenticated)
	var pe *logs.Error
	require.ErrorAs(tb, err, &pe)
	assert.Equal(tb, reason, pe.Message)
}

func TestHS256(t *testing.T) {
	v := verifier(t, jwtauth.Options{Secret: secret})
	rsaKey := testKeys(t).rsa1
	tests := []struct {
		name   string
		header []string
		reason string // "" when accepted
	}{
		{"valid", []string{"Bearer " + hs(t, claims())}, ""},
		{"scheme is case-insensitive", []string{"bearer " + hs(t, claims())}, ""},
		{"within leeway", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-10 * time.Second).Unix() }))}, ""},
		{"no header", nil, "missing bearer token"},
		{"empty header", []string{""}, "missing bearer token"},
		{"two headers", []string{"Bearer " + hs(t, claims()), "Bearer " + hs(t, claims())}, "more than one Authorization header"},
		{"basic scheme", []string{"Basic dXNlcjpwYXNz"}, "the Authorization header must be: Bearer <token>"},
		{"bearer without token", []string{"Bearer"}, "the Authorization header must be: Bearer <token>"},
		{"garbage", []string{"Bearer not-a-jwt"}, "malformed token"},
		{"bad base64", []string{"Bearer a.b.c"}, "malformed token"},
		{"too long", []string{"Bearer " + strings.Repeat("a", jwtauth.MaxTokenLen+1)}, "malformed token"},
		{"bad signature", []string{"Bearer " + sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-another"), "", claims())}, "bad signature"},
		{"tampered claims", []string{"Bearer " + tamper(t, hs(t, claims()), "tenant_id", "globex")}, "bad signature"},
		{"alg none", []string{"Bearer " + unsigned(t, claims())}, "signing algorithm not allowed"},
		{"unknown alg", []string{"Bearer " + withHeader(t, hs(t, claims()), "alg", "XS999")}, "signing algorithm not allowed"},
		{"HS512 not allowed", []string{"Bearer " + sign(t, jwt.SigningMethodHS512, secret, "", claims())}, "signing algorithm not allowed"},
		{"RS256 against a secret", []string{"Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, "k1", claims())}, "signing algorithm not allowed"},
		{"expired", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }))}, "token expired"},
		{"not valid yet", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Minute).Unix() }))}, "token not valid yet"},
		{"issued in the future", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() }))}, "token issued in the future"},
		{"no exp", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { delete(c, "exp") }))}, "token has no exp claim"},
		{"exp not a number", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { c["exp"] = "tomorrow" }))}, "malformed token"},
		{"exp a numeric string", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { c["exp"] = fmt.Sprint(time.Now().Add(time.Hour).Unix()) }))}, "malformed token"},
		{"nbf a numeric string", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { c["nbf"] = "0" }))}, "malformed token"},
		{"iat a numeric string", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { c["iat"] = "0" }))}, "malformed token"},
		{"no tenant_id", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { delete(c, "tenant_id") }))}, "token has no tenant_id claim"},
		{"tenant_id null", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { c["tenant_id"] = nil }))}, "token has no tenant_id claim"},
		{"tenant_id a number", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { c["tenant_id"] = 42 }))}, "tenant_id claim must be a string"},
		{"tenant_id empty", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { c["tenant_id"] = "" }))}, "tenant_id claim is not a valid tenant id"},
		{"tenant_id malformed", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { c["tenant_id"] = "a b" }))}, "tenant_id claim is not a valid tenant id"},
		{"permissions a string", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { c["permissions"] = "log:read" }))}, "permissions claim must be an array of strings"},
		{"scope an array", []string{"Bearer " + hs(t, claims(func(c jwt.MapClaims) { c["scope"] = []string{"log:read"} }))}, "scope claim must be a string"},
		{"crit header", []string{"Bearer " + sign2(t, claims(), map[string]any{"crit": []string{"exp"}})}, "unsupported crit header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := authenticate(v, tt.header...)
			if tt.reason == "" {
				require.NoError(t, err)
				assert.Equal(t, "acme", p.Tenant)
				assert.Equal(t, "user-1", p.Subject)
				assert.Equal(t, []string{"log:read"}, p.Permissions)
				assert.WithinDuration(t, time.Now(), p.Expires, 2*time.Hour)
				return
			}
			requireRefused(t, err, tt.reason)
			assert.Zero(t, p)
		})
	}
}

func TestPermissions(t *testing.T) {
	v := verifier(t, jwtauth.Options{Secret: secret})
	tests := []struct {
		name string
		mod  func(jwt.MapClaims)
		want []string
	}{
		{"permissions", func(c jwt.MapClaims) { c["permissions"] = []string{"log:read", "log:write"} }, []string{"log:read", "log:write"}},
		{"scope", func(c jwt.MapClaims) { delete(c, "permissions"); c["scope"] = "openid  log:write log:read" }, []string{"openid", "log:write", "log:read"}},
		{"both, deduplicated", func(c jwt.MapClaims) { c["scope"] = "log:write log:read" }, []string{"log:read", "log:write"}},
		{"none", func(c jwt.MapClaims) { delete(c, "permissions") }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(t.Context(), hs(t, claims(tt.mod)))
			require.NoError(t, err)
			assert.Equal(t, tt.want, p.Permissions)
			for _, perm := range tt.want {
				assert.True(t, p.Has(perm))
			}
		})
	}
}

func TestIssuerAudience(t *testing.T) {
	v := verifier(t, jwtauth.Options{Secret: secret, Issuer: "https://id.example", Audience: "logs"})
	tests := []struct {
		name   string
		mod    func(jwt.MapClaims)
		reason string
	}{
		{"both match", func(c jwt.MapClaims) { c["iss"] = "https://id.example"; c["aud"] = "logs" }, ""},
		{"audience in a list", func(c jwt.MapClaims) { c["iss"] = "https://id.example"; c["aud"] = []string{"other", "logs"} }, ""},
		{"wrong issuer", func(c jwt.MapClaims) { c["iss"] = "https://evil.example"; c["aud"] = "logs" }, "wrong issuer"},
		{"no issuer", func(c jwt.MapClaims) { c["aud"] = "logs" }, "token has no iss claim"},
		{"wrong audience", func(c jwt.MapClaims) { c["iss"] = "https://id.example"; c["aud"] = "billing" }, "wrong audience"},
		{"no audience", func(c jwt.MapClaims) { c["iss"] = "https://id.example" }, "token has no aud claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), hs(t, claims(tt.mod)))
			if tt.reason == "" {
				require.NoError(t, err)
				return
			}
			requireRefused(t, err, tt.reason)
		})
	}
	t.Run("not checked when not configured", func(t *testing.T) {
		v := verifier(t, jwtauth.Options{Secret: secret})
		_, err := v.Verify(t.Context(), hs(t, claims(func(c jwt.MapClaims) { c["iss"] = "anyone"; c["aud"] = "anything" })))
		require.NoError(t, err)
	})
}

func TestNewRefusesBadOptions(t *testing.T) {
	for name, o := range map[string]*jwtauth.Options{
		"nil":          nil,
		"no key":       {Issuer: "x"},
		"short secret": {Secret: []byte("short")},
		"bad jwks url": {JWKSURL: "ftp://example.com/jwks"},
		"relative url": {JWKSURL: "/jwks.json"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := jwtauth.New(o)
			require.Error(t, err)
		})
	}
}

func TestMint(t *testing.T) {
	v := verifier(t, jwtauth.Options{Secret: secret, Issuer: "logsd", Audience: "logs"})
	tok, err := jwtauth.Mint(secret, jwtauth.Grant{Tenant: "acme", Permissions: []string{"log:read", "log:write", "log:read"},
		Subject: "cli", TTL: time.Hour, Issuer: "logsd", Audience: "logs"})
	require.NoError(t, err)
	p, err := v.Verify(t.Context(), tok)
	require.NoError(t, err)
	assert.Equal(t, loghttp.Principal{Tenant: "acme", Subject: "cli", Permissions: []string{"log:read", "log:write"}, Expires: p.Expires}, p)
	assert.WithinDuration(t, time.Now().Add(time.Hour), p.Expires, 5*time.Second)

	t.Run("expired by ttl", func(t *testing.T) {
		tok, err := jwtauth.Mint(secret, jwtauth.Grant{Tenant: "acme", Permissions: []string{"log:read"}, TTL: time.Minute,
			Issuer: "logsd", Audience: "logs", Now: time.Now().Add(-2 * time.Minute)})
		require.NoError(t, err)
		_, err = v.Verify(t.Context(), tok)
		requireRefused(t, err, "token expired")
	})
	t.Run("without issuer refused by a verifier that checks it", func(t *testing.T) {
		tok, err := jwtauth.Mint(secret, jwtauth.Grant{Tenant: "acme", Permissions: []string{"log:read"}, TTL: time.Minute, Audience: "logs"})
		require.NoError(t, err)
		_, err = v.Verify(t.Context(), tok)
		requireRefused(t, err, "token has no iss claim")
	})
	for name, g := range map[string]jwtauth.Grant{
		"no tenant":          {Permissions: []string{"log:read"}, TTL: time.Hour},
		"bad tenant":         {Tenant: "a/b", Permissions: []string{"log:read"}, TTL: time.Hour},
		"no permission":      {Tenant: "acme", TTL: time.Hour},
		"permission w space": {Tenant: "acme", Permissions: []string{"log:read log:write"}, TTL: time.Hour},
		"zero ttl":           {Tenant: "acme", Permissions: []string{"log:read"}},
		"ttl too long":       {Tenant: "acme", Permissions: []string{"log:read"}, TTL: 400 * 24 * time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := jwtauth.Mint(secret, g)
			require.Error(t, err)
		})
	}
	t.Run("short secret", func(t *testing.T) {
		_, err := jwtauth.Mint([]byte("short"), jwtauth.Grant{Tenant: "acme", Permissions: []string{"log:read"}, TTL: time.Hour})
		require.Error(t, err)
	})
}

// tamper re-encodes the claims of tok with key set to val, keeping the
// signature.
func tamper(tb testing.TB, tok, key string, val any) string {
	tb.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(tb, err)
	var c map[string]any
	require.NoError(tb, json.Unmarshal(b, &c))
	c[key] = val
	b, err = json.Marshal(c)
	require.NoError(tb, err)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// withHeader re-encodes the header of tok with key set to val.
func withHeader(tb testing.TB, tok, key string, val any) string {
	tb.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(tb, err)
	var h map[string]any
	require.NoError(tb, json.Unmarshal(b, &h))
	h[key] = val
	b, err = json.Marshal(h)
	require.NoError(tb, err)
	parts[0] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// sign2 signs an HS256 token with extra header fields.
func sign2(tb testing.TB, c jwt.MapClaims, header map[string]any) string {
	tb.Helper()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	for k, v := range header {
		t.Header[k] = v
	}
	s, err := t.SignedString(secret)
	require.NoError(tb, err)
	return s
}

// keys are the asymmetric keys of the tests, generated once.
type keys struct {
	rsa1, rsa2 *rsa.PrivateKey
	rsaWeak    *rsa.PrivateKey
	p256       *ecdsa.PrivateKey
	p384       *ecdsa.PrivateKey
	p521       *ecdsa.PrivateKey
	ed         ed25519.PrivateKey
}

var (
	keysOnce sync.Once
	theKeys  keys
)

func testKeys(tb testing.TB) *keys {
	tb.Helper()
	keysOnce.Do(func() {
		var err error
		must := func(e error) {
			if e != nil && err == nil {
				err = e
			}
		}
		theKeys.rsa1, err = rsa.GenerateKey(rand.Reader, 2048)
		k, e := rsa.GenerateKey(rand.Reader, 2048)
		must(e)
		theKeys.rsa2 = k
		weak, e := rsa.GenerateKey(rand.Reader, 1024)
		must(e)
		theKeys.rsaWeak = weak
		theKeys.p256, e = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(e)
		theKeys.p384, e = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		must(e)
		theKeys.p521, e = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		must(e)
		_, theKeys.ed, e = ed25519.GenerateKey(rand.Reader)
		must(e)
		if err != nil {
			panic(err)
		}
	})
	return &theKeys
}

// pubJWK renders the public half of key as a JWK.
func pubJWK(kid string, key crypto.Signer, extra map[string]string) map[string]string {
	enc := base64.RawURLEncoding.EncodeToString
	m := map[string]string{"kid": kid}
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", enc(k.N.Bytes()), enc(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			panic(err)
		}
		size := (len(b) - 1) / 2
		m["kty"], m["crv"], m["x"], m["y"] = "EC", k.Curve.Params().Name, enc(b[1:1+size]), enc(b[1+size:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", enc(k)
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// jwksServer serves a JWKS that the test can change, on loopback.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []map[string]string
	status  int
	fetches atomic.Int64
}

func newJWKSServer(tb testing.TB, keys ...map[string]string) *jwksServer {
	tb.Helper()
	s := &jwksServer{keys: keys, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.status != http.StatusOK {
			http.Error(w, "down", s.status)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(status int, keys ...map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.keys = status, keys
}

func TestJWKS(t *testing.T) {
	k := testKeys(t)
	srv := newJWKSServer(t,
		pubJWK("rsa1", k.rsa1, nil),
		pubJWK("rsa2", k.rsa2, map[string]string{"alg": "PS256", "use": "sig"}),
		pubJWK("weak", k.rsaWeak, nil),
		pubJWK("p256", k.p256, nil),
		pubJWK("p384", k.p384, nil),
		pubJWK("p521", k.p521, nil),
		pubJWK("ed", k.ed, nil),
		pubJWK("enc", k.p256, map[string]string{"use": "enc"}),
		map[string]string{"kty": "oct", "kid": "sym", "k": base64.RawURLEncoding.EncodeToString(secret)},
	)
	v := verifier(t, jwtauth.Options{JWKSURL: srv.URL, JWKSMinInterval: time.Nanosecond})
	pub := func() []byte { // the RSA public key as an HMAC secret: the classic confusion attack
		b, err := x509.MarshalPKIXPublicKey(&k.rsa1.PublicKey)
		require.NoError(t, err)
		return b
	}()
	tests := []struct {
		name   string
		token  string
		reason string
	}{
		{"RS256", sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", claims()), ""},
		{"RS512", sign(t, jwt.SigningMethodRS512, k.rsa1, "rsa1", claims()), ""},
		{"PS256 on a key for PS256", sign(t, jwt.SigningMethodPS256, k.rsa2, "rsa2", claims()), ""},
		{"ES256", sign(t, jwt.SigningMethodES256, k.p256, "p256", claims()), ""},
		{"ES384", sign(t, jwt.SigningMethodES384, k.p384, "p384", claims()), ""},
		{"ES512", sign(t, jwt.SigningMethodES512, k.p521, "p521", claims()), ""},
		{"EdDSA", sign(t, jwt.SigningMethodEdDSA, k.ed, "ed", claims()), ""},
		{"no kid: every key of the algorithm is tried", sign(t, jwt.SigningMethodES256, k.p256, "", claims()), ""},
		{"RS256 on a key for PS256 only", sign(t, jwt.SigningMethodRS256, k.rsa2, "rsa2", claims()), "unknown signing key"},
		{"kid of another key", sign(t, jwt.SigningMethodRS256, k.rsa2, "rsa1", claims()), "bad signature"},
		{"ES256 under the kid of a P-384 key", sign(t, jwt.SigningMethodES256, k.p256, "p384", claims()), "unknown signing key"},
		{"RS256 under the kid of an EC key", sign(t, jwt.SigningMethodRS256, k.rsa1, "p256", claims()), "unknown signing key"},
		{"weak RSA key is skipped", sign(t, jwt.SigningMethodRS256, k.rsaWeak, "weak", claims()), "unknown signing key"},
		{"encryption key is skipped", sign(t, jwt.SigningMethodES256, k.p256, "enc", claims()), "unknown signing key"},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, k.rsa1, "nope", claims()), "unknown signing key"},
		{"kid not a string", withHeader(t, sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", claims()), "kid", 7), "malformed token"},
		{"HS256 against a JWKS (public key as secret)", sign(t, jwt.SigningMethodHS256, pub, "rsa1", claims()), "signing algorithm not allowed"},
		{"HS256 against a JWKS holding an oct key", sign(t, jwt.SigningMethodHS256, secret, "sym", claims()), "signing algorithm not allowed"},
		{"alg none", unsigned(t, claims()), "signing algorithm not allowed"},
		{"expired", sign(t, jwt.SigningMethodES256, k.p256, "p256", claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() })), "token expired"},
		{"no tenant_id", sign(t, jwt.SigningMethodEdDSA, k.ed, "ed", claims(func(c jwt.MapClaims) { delete(c, "tenant_id") })), "token has no tenant_id claim"},
		{"jku header is ignored", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims())
			tok.Header["kid"], tok.Header["jku"] = "attacker", "http://127.0.0.1:1/jwks"
			s, err := tok.SignedString(k.rsa2)
			require.NoError(t, err)
			return s
		}(), "unknown signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(t.Context(), tt.token)
			if tt.reason == "" {
				require.NoError(t, err)
				assert.Equal(t, "acme", p.Tenant)
				return
			}
			requireRefused(t, err, tt.reason)
		})
	}
}

func TestJWKSRotation(t *testing.T) {
	k := testKeys(t)
	srv := newJWKSServer(t, pubJWK("old", k.rsa1, nil))
	v := verifier(t, jwtauth.Options{JWKSURL: srv.URL, JWKSMinInterval: time.Nanosecond})
	oldTok := sign(t, jwt.SigningMethodRS256, k.rsa1, "old", claims())
	newTok := sign(t, jwt.SigningMethodES256, k.p256, "new", claims())

	_, err := v.Verify(t.Context(), oldTok)
	require.NoError(t, err)
	_, err = v.Verify(t.Context(), oldTok)
	require.NoError(t, err)
	assert.EqualValues(t, 1, srv.fetches.Load(), "keys are cached")

	srv.set(http.StatusOK, pubJWK("new", k.p256, nil)) // the issuer rotates
	_, err = v.Verify(t.Context(), newTok)
	require.NoError(t, err, "an unknown kid refreshes the keys")
	assert.EqualValues(t, 2, srv.fetches.Load())

	_, err = v.Verify(t.Context(), oldTok)
	requireRefused(t, err, "unknown signing key")
}

func TestJWKSRateLimit(t *testing.T) {
	k := testKeys(t)
	srv := newJWKSServer(t, pubJWK("a", k.p256, nil))
	v := verifier(t, jwtauth.Options{JWKSURL: srv.URL, JWKSMinInterval: time.Hour})
	for range 5 {
		_, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodES256, k.p256, "unknown", claims()))
		requireRefused(t, err, "unknown signing key")
	}
	assert.EqualValues(t, 1, srv.fetches.Load(), "unknown kids cannot make the verifier hammer the key server")
	_, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodES256, k.p256, "a", claims()))
	require.NoError(t, err)
}

func TestJWKSUnavailable(t *testing.T) {
	k := testKeys(t)
	srv := newJWKSServer(t, pubJWK("a", k.ed, nil))
	srv.set(http.StatusInternalServerError)
	v := verifier(t, jwtauth.Options{JWKSURL: srv.URL, JWKSMinInterval: time.Nanosecond, JWKSRefresh: time.Nanosecond})
	tok := sign(t, jwt.SigningMethodEdDSA, k.ed, "a", claims())

	_, err := v.Verify(t.Context(), tok)
	require.ErrorIs(t, err, logs.ErrUnavailable, "no keys at all: the service is unavailable, not the token bad")
	assert.False(t, errors.Is(err, logs.ErrUnauthenticated))

	srv.set(http.StatusOK, pubJWK("a", k.ed, nil))
	_, err = v.Verify(t.Context(), tok)
	require.NoError(t, err)

	srv.set(http.StatusBadGateway) // stale keys, refresh fails: the cached keys still serve
	before := srv.fetches.Load()
	_, err = v.Verify(t.Context(), tok)
	require.NoError(t, err)
	assert.Greater(t, srv.fetches.Load(), before, "stale keys are refetched")

	t.Run("no usable key", func(t *testing.T) {
		srv := newJWKSServer(t, pubJWK("weak", k.rsaWeak, nil))
		v := verifier(t, jwtauth.Options{JWKSURL: srv.URL})
		_, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodRS256, k.rsaWeak, "weak", claims()))
		require.ErrorIs(t, err, logs.ErrUnavailable)
	})
}

func TestSecretAndJWKS(t *testing.T) {
	k := testKeys(t)
	srv := newJWKSServer(t, pubJWK("a", k.p256, nil))
	v := verifier(t, jwtauth.Options{Secret: secret, JWKSURL: srv.URL})
	_, err := v.Verify(t.Context(), hs(t, claims()))
	require.NoError(t, err)
	_, err = v.Verify(t.Context(), sign(t, jwt.SigningMethodES256, k.p256, "a", claims()))
	require.NoError(t, err)
	_, err = v.Verify(t.Context(), unsigned(t, claims()))
	requireRefused(t, err, "signing algorithm not allowed")
}

func TestRefresh(t *testing.T) {
	k := testKeys(t)
	srv := newJWKSServer(t, pubJWK("a", k.p256, nil))
	v := verifier(t, jwtauth.Options{JWKSURL: srv.URL})
	require.NoError(t, v.Refresh(t.Context()))
	_, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodES256, k.p256, "a", claims()))
	require.NoError(t, err)
	assert.EqualValues(t, 1, srv.fetches.Load())
	require.NoError(t, verifier(t, jwtauth.Options{Secret: secret}).Refresh(t.Context()))
}

func BenchmarkVerify(b *testing.B) {
	k := testKeys(b)
	srv := newJWKSServer(b, pubJWK("rsa", k.rsa1, nil), pubJWK("ec", k.p256, nil), pubJWK("ed", k.ed, nil))
	v := verifier(b, jwtauth.Options{Secret: secret, JWKSURL: srv.URL})
	for _, tc := range []struct {
		name string
		tok  string
	}{
		{"HS256", hs(b, claims())},
		{"RS256", sign(b, jwt.SigningMethodRS256, k.rsa1, "rsa", claims())},
		{"ES256", sign(b, jwt.SigningMethodES256, k.p256, "ec", claims())},
		{"EdDSA", sign(b, jwt.SigningMethodEdDSA, k.ed, "ed", claims())},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := v.Verify(b.Context(), tc.tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestJWKSLimits(t *testing.T) {
	k := testKeys(t)
	tok := sign(t, jwt.SigningMethodES256, k.p256, "a", claims())
	many := func(n int) []map[string]string {
		keys := []map[string]string{pubJWK("a", k.p256, nil)}
		for i := 1; i < n; i++ {
			keys = append(keys, pubJWK(fmt.Sprint("ed", i), k.ed, nil))
		}
		return keys
	}
	t.Run("100 keys are read", func(t *testing.T) {
		v := verifier(t, jwtauth.Options{JWKSURL: newJWKSServer(t, many(100)...).URL})
		_, err := v.Verify(t.Context(), tok)
		require.NoError(t, err)
	})
	t.Run("101 keys are refused", func(t *testing.T) {
		v := verifier(t, jwtauth.Options{JWKSURL: newJWKSServer(t, many(101)...).URL})
		_, err := v.Verify(t.Context(), tok)
		require.ErrorIs(t, err, logs.ErrUnavailable)
	})
	t.Run("more than 1 MiB is refused", func(t *testing.T) {
		srv := newJWKSServer(t, pubJWK("a", k.p256, map[string]string{"x-padding": strings.Repeat("a", 1<<20)}))
		v := verifier(t, jwtauth.Options{JWKSURL: srv.URL})
		_, err := v.Verify(t.Context(), tok)
		require.ErrorIs(t, err, logs.ErrUnavailable)
	})
}

// countingTransport counts the requests of a client.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestJWKSHTTPClient(t *testing.T) {
	k := testKeys(t)
	srv := newJWKSServer(t, pubJWK("a", k.p256, nil))
	tr := &countingTransport{}
	v := verifier(t, jwtauth.Options{JWKSURL: srv.URL, HTTPClient: &http.Client{Transport: tr}})
	_, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodES256, k.p256, "a", claims()))
	require.NoError(t, err)
	assert.EqualValues(t, 1, tr.n.Load(), "the JWKS is fetched with the given client")
}

func TestJWKSKeys(t *testing.T) {
	k := testKeys(t)
	offCurve := pubJWK("bad", k.p256, nil)
	offCurve["y"] = offCurve["x"]
	srv := newJWKSServer(t,
		offCurve,
		map[string]string{"kty": "RSA", "kid": "garbage", "n": "!!", "e": "AQAB"},
		pubJWK("even", k.rsa1, map[string]string{"e": base64.RawURLEncoding.EncodeToString([]byte{2})}),
		pubJWK("same", k.rsa1, nil), // two keys of one kid, of different types
		pubJWK("same", k.p256, nil),
		pubJWK("ok", k.ed, nil),
	)
	v := verifier(t, jwtauth.Options{JWKSURL: srv.URL, JWKSMinInterval: time.Nanosecond})
	for _, tt := range []struct {
		name   string
		token  string
		reason string
	}{
		{"malformed keys do not spoil the others", sign(t, jwt.SigningMethodEdDSA, k.ed, "ok", claims()), ""},
		{"RS256 under a shared kid", sign(t, jwt.SigningMethodRS256, k.rsa1, "same", claims()), ""},
		{"ES256 under a shared kid", sign(t, jwt.SigningMethodES256, k.p256, "same", claims()), ""},
		{"EC point off the curve is skipped", sign(t, jwt.SigningMethodES256, k.p256, "bad", claims()), "unknown signing key"},
		{"RSA key with bad encoding is skipped", sign(t, jwt.SigningMethodRS256, k.rsa1, "garbage", claims()), "unknown signing key"},
		{"RSA key with an even exponent is skipped", sign(t, jwt.SigningMethodRS256, k.rsa1, "even", claims()), "unknown signing key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tt.token)
			if tt.reason == "" {
				require.NoError(t, err)
				return
			}
			requireRefused(t, err, tt.reason)
		})
	}
}

func TestRefreshRateLimited(t *testing.T) {
	k := testKeys(t)
	srv := newJWKSServer(t, pubJWK("a", k.p256, nil))
	v := verifier(t, jwtauth.Options{JWKSURL: srv.URL, JWKSMinInterval: time.Hour})
	require.NoError(t, v.Refresh(t.Context()))
	require.Error(t, v.Refresh(t.Context()), "Refresh obeys JWKSMinInterval")
	assert.EqualValues(t, 1, srv.fetches.Load())
}
