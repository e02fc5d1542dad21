package jwtauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ithbat/logs"
)

// Limits on what a JWKS may hold.
const (
	maxJWKSBytes = 1 << 20
	maxJWKSKeys  = 100
	minRSABits   = 2048
)

// keySet is the cached JWKS.
type keySet struct {
	url         string
	client      *http.Client
	refresh     time.Duration
	minInterval time.Duration
	log         *slog.Logger

	mu      sync.RWMutex
	keys    []jwk
	fetched time.Time // of the keys; zero before the first success

	fetchMu     sync.Mutex // held during a fetch
	lastAttempt time.Time  // guarded by fetchMu
}

// jwk is one usable public key.
type jwk struct {
	kid string
	alg string // "" when the JWK does not restrict it
	key crypto.PublicKey
}

func (s *keySet) snapshot() ([]jwk, time.Time) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.keys, s.fetched
}

// lookup returns the keys that may verify a token of alg and kid ("" for a
// token without kid: every key of the algorithm).
func (s *keySet) lookup(ctx context.Context, kid, alg string) ([]crypto.PublicKey, error) {
	keys, fetched := s.snapshot()
	switch {
	case fetched.IsZero():
		if err := s.fetch(ctx, fetched, false); err != nil {
			if keys, fetched = s.snapshot(); fetched.IsZero() {
				return nil, fmt.Errorf("jwtauth: signing keys unavailable: %w: %w", logs.ErrUnavailable, err)
			}
		}
	case time.Since(fetched) > s.refresh && s.fetchMu.TryLock():
		s.fetchMu.Unlock()
		if err := s.fetch(ctx, fetched, false); err != nil && !errors.Is(err, errRateLimited) {
			s.log.Warn("jwtauth: JWKS refresh failed; keeping the cached keys", "url", s.url, "err", err)
		}
	}
	keys, fetched = s.snapshot()
	found := match(keys, kid, alg)
	if len(found) == 0 && kid != "" {
		// Perhaps the issuer rotated its keys: refetch, rate limited.
		if err := s.fetch(ctx, fetched, false); err == nil {
			keys, _ = s.snapshot()
			found = match(keys, kid, alg)
		}
	}
	if len(found) == 0 {
		return nil, errUnknownKey
	}
	return found, nil
}

// errRateLimited refuses a fetch within minInterval of the last.
var errRateLimited = errors.New("jwtauth: JWKS fetched too recently")

// fetch refetches the JWKS unless another fetch succeeded after seen (then
// its keys are fresh enough) or one was attempted within minInterval. With
// force, only the rate limit applies.
func (s *keySet) fetch(ctx context.Context, seen time.Time, force bool) error {
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	if _, fetched := s.snapshot(); !force && fetched.After(seen) {
		return nil
	}
	if !s.lastAttempt.IsZero() && time.Since(s.lastAttempt) < s.minInterval {
		return errRateLimited
	}
	s.lastAttempt = time.Now()
	keys, err := s.download(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.keys, s.fetched = keys, time.Now()
	s.mu.Unlock()
	return nil
}

// download fetches and parses the JWKS.
func (s *keySet) download(ctx context.Context) ([]jwk, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultJWKSTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: JWKS request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwtauth: fetch JWKS: status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwtauth: read JWKS: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("jwtauth: JWKS is larger than %d bytes", maxJWKSBytes)
	}
	keys, err := parseJWKS(body)
	for _, e := range errorsOf(err) {
		s.log.Warn("jwtauth: JWKS key skipped", "url", s.url, "err", e)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwtauth: JWKS at %s holds no usable signing key: %w", s.url, err)
	}
	return keys, nil
}

func errorsOf(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// rawJWK is a JSON Web Key as published (RFC 7517, 7518, 8037).
type rawJWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS returns the usable signing keys of a JWKS document. Keys of
// other uses or unknown types are skipped; keys that are malformed or too
// weak are skipped and reported in the error (joined), which is not nil
// only then, or when the document itself is malformed.
func parseJWKS(data []byte) ([]jwk, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("jwtauth: JWKS is not a JSON key set: %w", err)
	}
	if len(doc.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("jwtauth: JWKS holds %d keys; at most %d are read", len(doc.Keys), maxJWKSKeys)
	}
	var keys []jwk
	var errs []error
	for i, raw := range doc.Keys {
		var r rawJWK
		if err := json.Unmarshal(raw, &r); err != nil {
			errs = append(errs, fmt.Errorf("key %d: %w", i, err))
			continue
		}
		if r.Use != "" && r.Use != "sig" {
			continue
		}
		key, err := r.publicKey()
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d (kid %q): %w", i, r.Kid, err))
			continue
		}
		if key != nil {
			keys = append(keys, jwk{kid: r.Kid, alg: r.Alg, key: key})
		}
	}
	return keys, errors.Join(errs...)
}

// publicKey decodes the key; nil, nil for a type this package does not use.
func (r *rawJWK) publicKey() (crypto.PublicKey, error) {
	switch r.Kty {
	case "RSA":
		n, err1 := b64(r.N)
		e, err2 := b64(r.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("malformed RSA key")
		}
		exp := new(big.Int).SetBytes(e)
		if !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || exp.Bit(0) == 0 {
			return nil, errors.New("RSA exponent out of range")
		}
		key := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}
		if key.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits; at least %d are required", key.N.BitLen(), minRSABits)
		}
		return key, nil
	case "EC":
		var curve elliptic.Curve
		var size int
		switch r.Crv {
		case "P-256":
			curve, size = elliptic.P256(), 32
		case "P-384":
			curve, size = elliptic.P384(), 48
		case "P-521":
			curve, size = elliptic.P521(), 66
		default:
			return nil, fmt.Errorf("unsupported EC curve %q", r.Crv)
		}
		x, err1 := b64(r.X)
		y, err2 := b64(r.Y)
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return nil, errors.New("malformed EC key")
		}
		point := append(append([]byte{4}, x...), y...)
		key, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, fmt.Errorf("EC key: %w", err)
		}
		return key, nil
	case "OKP":
		if r.Crv != "Ed25519" {
			return nil, nil
		}
		x, err := b64(r.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("malformed Ed25519 key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, nil
}

func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// match returns the keys that fit a token's alg and kid.
func match(keys []jwk, kid, alg string) []crypto.PublicKey {
	var out []crypto.PublicKey
	for _, k := range keys {
		if kid != "" && k.kid != kid || k.alg != "" && k.alg != alg || !fits(k.key, alg) {
			continue
		}
		out = append(out, k.key)
	}
	return out
}

// fits reports whether key is of the type and curve that alg needs.
func fits(key crypto.PublicKey, alg string) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		case "ES512":
			return k.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}
