package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/loghttp"
)

// Defaults of [Options].
const (
	DefaultLeeway          = 30 * time.Second
	DefaultJWKSRefresh     = time.Hour
	DefaultJWKSMinInterval = 15 * time.Second
	DefaultJWKSTimeout     = 10 * time.Second
)

// MinSecretLen is the shortest HS256 secret accepted, in bytes.
const MinSecretLen = 32

// MaxTokenLen bounds the length of a token.
const MaxTokenLen = 16 << 10

// Options configure a Verifier. At least one of Secret and JWKSURL is
// required. When both are set, HS256 tokens are verified with the secret
// and all others with the JWKS.
type Options struct {
	// Secret is the HS256 key, at least MinSecretLen bytes.
	Secret []byte

	// JWKSURL is where the JSON Web Key Set is fetched (http or https).
	JWKSURL string

	// Issuer, when set, must equal the iss claim.
	Issuer string

	// Audience, when set, must be one of the aud claim's values.
	Audience string

	// Leeway is the clock skew allowed on exp, nbf and iat
	// (default DefaultLeeway; negative means none).
	Leeway time.Duration

	// HTTPClient fetches the JWKS (default: a client with a
	// DefaultJWKSTimeout timeout).
	HTTPClient *http.Client

	// JWKSRefresh is the age at which cached keys are refetched
	// (default DefaultJWKSRefresh).
	JWKSRefresh time.Duration

	// JWKSMinInterval is the least time between two fetches of the JWKS
	// (default DefaultJWKSMinInterval). It bounds the fetches that tokens
	// with unknown key ids can cause.
	JWKSMinInterval time.Duration

	// Logger receives warnings about the JWKS (default: discard).
	Logger *slog.Logger
}

// Verifier checks tokens. Create it with New.
type Verifier struct {
	opts   Options
	parser *jwt.Parser
	jwks   *keySet // nil without JWKSURL
	log    *slog.Logger
}

var _ loghttp.Authenticator = (*Verifier)(nil)

// hmacAlgs and publicAlgs are the algorithms accepted per kind of key.
var (
	hmacAlgs   = []string{"HS256"}
	publicAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

// New returns a Verifier. It does not fetch the JWKS; the first token
// does (or [Verifier.Refresh]).
func New(opts *Options) (*Verifier, error) {
	v := &Verifier{}
	if opts != nil {
		v.opts = *opts
	}
	o := &v.opts
	if len(o.Secret) == 0 && o.JWKSURL == "" {
		return nil, errors.New("jwtauth: a secret or a JWKS URL is required")
	}
	if len(o.Secret) > 0 && len(o.Secret) < MinSecretLen {
		return nil, fmt.Errorf("jwtauth: the HS256 secret has %d bytes; at least %d are required", len(o.Secret), MinSecretLen)
	}
	switch {
	case o.Leeway == 0:
		o.Leeway = DefaultLeeway
	case o.Leeway < 0:
		o.Leeway = 0
	}
	if o.JWKSRefresh <= 0 {
		o.JWKSRefresh = DefaultJWKSRefresh
	}
	if o.JWKSMinInterval <= 0 {
		o.JWKSMinInterval = DefaultJWKSMinInterval
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: DefaultJWKSTimeout}
	}
	v.log = o.Logger
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	var algs []string
	if len(o.Secret) > 0 {
		algs = append(algs, hmacAlgs...)
	}
	if o.JWKSURL != "" {
		u, err := url.Parse(o.JWKSURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("jwtauth: JWKS URL %q: must be an http or https URL", o.JWKSURL)
		}
		if v.jwks, err = newKeySet(o.JWKSURL, o.HTTPClient, o.JWKSRefresh, o.JWKSMinInterval, v.log); err != nil {
			return nil, err
		}
		algs = append(algs, publicAlgs...)
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(o.Leeway),
	}
	if o.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(o.Issuer))
	}
	if o.Audience != "" {
		popts = append(popts, jwt.WithAudience(o.Audience))
	}
	v.parser = jwt.NewParser(popts...)
	return v, nil
}

// Refresh fetches the JWKS now (it does nothing without a JWKS URL). It is
// subject to JWKSMinInterval like any fetch.
func (v *Verifier) Refresh(ctx context.Context) error {
	if v.jwks == nil {
		return nil
	}
	return v.jwks.fetch(ctx, time.Time{}, true)
}

// Authenticate verifies the bearer token of r's Authorization header.
func (v *Verifier) Authenticate(r *http.Request) (loghttp.Principal, error) {
	vals := r.Header.Values("Authorization")
	switch {
	case len(vals) == 0 || vals[0] == "":
		return loghttp.Principal{}, refuse("missing bearer token", nil)
	case len(vals) > 1:
		return loghttp.Principal{}, refuse("more than one Authorization header", nil)
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return loghttp.Principal{}, refuse("the Authorization header must be: Bearer <token>", nil)
	}
	return v.Verify(r.Context(), strings.TrimSpace(token))
}

// claims are the claims a token of the Logs API carries.
type claims struct {
	jwt.RegisteredClaims
	TenantID    json.RawMessage `json:"tenant_id"`
	Permissions json.RawMessage `json:"permissions"`
	Scope       json.RawMessage `json:"scope"`
}

// UnmarshalJSON refuses exp, nbf and iat given as strings: RFC 7519 makes
// them JSON numbers, and the jwt package would read "1767225600" as one.
func (c *claims) UnmarshalJSON(b []byte) error {
	var dates struct {
		Exp json.RawMessage `json:"exp"`
		Nbf json.RawMessage `json:"nbf"`
		Iat json.RawMessage `json:"iat"`
	}
	if err := json.Unmarshal(b, &dates); err != nil {
		return err
	}
	for _, d := range []json.RawMessage{dates.Exp, dates.Nbf, dates.Iat} {
		if len(d) > 0 && d[0] == '"' {
			return errors.New("jwtauth: a date claim is a string, not a number")
		}
	}
	type plain claims
	return json.Unmarshal(b, (*plain)(c))
}

// Verify checks token and returns its principal.
func (v *Verifier) Verify(ctx context.Context, token string) (loghttp.Principal, error) {
	if token == "" || len(token) > MaxTokenLen {
		return loghttp.Principal{}, refuse("malformed token", nil)
	}
	var c claims
	t, err := v.parser.ParseWithClaims(token, &c, v.keyfunc(ctx))
	if err != nil {
		return loghttp.Principal{}, v.reason(t, &c, err)
	}
	p := loghttp.Principal{Subject: c.Subject}
	if c.ExpiresAt != nil {
		p.Expires = c.ExpiresAt.Time
	}
	if len(c.TenantID) == 0 || string(c.TenantID) == "null" {
		return loghttp.Principal{}, refuse("token has no tenant_id claim", nil)
	}
	if json.Unmarshal(c.TenantID, &p.Tenant) != nil {
		return loghttp.Principal{}, refuse("tenant_id claim must be a string", nil)
	}
	if err := logs.ValidateTenant("tenant_id", p.Tenant); err != nil {
		return loghttp.Principal{}, refuse("tenant_id claim is not a valid tenant id", nil)
	}
	if len(c.Permissions) > 0 && string(c.Permissions) != "null" {
		var perms []string
		if json.Unmarshal(c.Permissions, &perms) != nil {
			return loghttp.Principal{}, refuse("permissions claim must be an array of strings", nil)
		}
		p.Permissions = appendNew(p.Permissions, perms...)
	}
	if len(c.Scope) > 0 && string(c.Scope) != "null" {
		var scope string
		if json.Unmarshal(c.Scope, &scope) != nil {
			return loghttp.Principal{}, refuse("scope claim must be a string", nil)
		}
		p.Permissions = appendNew(p.Permissions, strings.Fields(scope)...)
	}
	return p, nil
}

func appendNew(dst []string, vals ...string) []string {
	for _, s := range vals {
		if s != "" && !contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Internal errors of the keyfunc, mapped to reasons by reason.
var (
	errCrit       = errors.New("jwtauth: crit header")
	errUnknownKey = errors.New("jwtauth: unknown signing key")
	errBadKid     = errors.New("jwtauth: kid is not a string")
)

// keyfunc picks the verification key(s) of a token by its algorithm (and
// kid, for the JWKS).
func (v *Verifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			return nil, errCrit
		}
		alg := t.Method.Alg()
		if contains(hmacAlgs, alg) {
			return v.opts.Secret, nil // only reachable with a secret: WithValidMethods
		}
		if k, ok := t.Header["kid"]; ok {
			if _, ok := k.(string); !ok {
				return nil, errBadKid
			}
		}
		return v.jwks.key(ctx, t)
	}
}

// reason turns a parse error into the error the client sees.
func (v *Verifier) reason(t *jwt.Token, c *claims, err error) error {
	if errors.Is(err, logs.ErrUnavailable) {
		return err
	}
	if t != nil && t.Header != nil {
		alg, _ := t.Header["alg"].(string)
		if !contains(v.algs(), alg) {
			return refuse("signing algorithm not allowed", err)
		}
	}
	switch {
	case errors.Is(err, errCrit):
		return refuse("unsupported crit header", err)
	case errors.Is(err, errUnknownKey):
		return refuse("unknown signing key", err)
	case errors.Is(err, errBadKid):
		return refuse("malformed token", err)
	case errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, jwt.ErrTokenUnverifiable):
		return refuse("malformed token", err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return refuse("bad signature", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return refuse("token expired", err)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return refuse("token not valid yet", err)
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return refuse("token issued in the future", err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		switch {
		case c.ExpiresAt == nil:
			return refuse("token has no exp claim", err)
		case v.opts.Issuer != "" && c.Issuer == "":
			return refuse("token has no iss claim", err)
		case v.opts.Audience != "" && len(c.Audience) == 0:
			return refuse("token has no aud claim", err)
		}
		return refuse("token lacks a required claim", err)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return refuse("wrong issuer", err)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return refuse("wrong audience", err)
	case errors.Is(err, jwt.ErrInvalidType):
		return refuse("malformed claim", err)
	}
	return refuse("invalid token", err)
}

func (v *Verifier) algs() []string {
	var algs []string
	if len(v.opts.Secret) > 0 {
		algs = append(algs, hmacAlgs...)
	}
	if v.jwks != nil {
		algs = append(algs, publicAlgs...)
	}
	return algs
}

// refuse returns the error of a refused token: reason for the client, the
// cause for the logs.
func refuse(reason string, cause error) error {
	return &logs.Error{Kind: logs.ErrUnauthenticated, Message: reason, Err: cause}
}
