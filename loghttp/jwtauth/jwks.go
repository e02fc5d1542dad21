package jwtauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/ithbat/logs"
)

// Limits on what a JWKS may hold.
const (
	maxJWKSBytes = 1 << 20
	maxJWKSKeys  = 100
	minRSABits   = 2048
)

// keySet is the cached JWKS. Keys are parsed and validated by jwkset and
// picked for a token by keyfunc; keySet is the jwkset.Storage keyfunc reads,
// and decides when the JWKS is fetched: on first use, when the cached keys
// are older than refresh, and when a token names a kid the cache does not
// hold, never more than once per minInterval.
type keySet struct {
	*jwkset.MemoryJWKSet // the usable keys of the last successful fetch

	url     string
	client  *http.Client
	refresh time.Duration
	log     *slog.Logger
	kf      keyfunc.Keyfunc

	mu      sync.RWMutex
	fetched time.Time // of the keys; zero before the first success

	fetchMu sync.Mutex    // held during a fetch
	limit   *rate.Limiter // one fetch per minInterval
}

func newKeySet(url string, client *http.Client, refresh, minInterval time.Duration, log *slog.Logger) (*keySet, error) {
	s := &keySet{MemoryJWKSet: jwkset.NewMemoryStorage(), url: url, client: client, refresh: refresh, log: log,
		limit: rate.NewLimiter(rate.Every(minInterval), 1)}
	kf, err := keyfunc.New(keyfunc.Options{Storage: s, UseWhitelist: []jwkset.USE{jwkset.UseSig, ""}})
	if err != nil {
		return nil, fmt.Errorf("jwtauth: %w", err)
	}
	s.kf = kf
	return s, nil
}

func (s *keySet) fetchedAt() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.fetched
}

// algKey carries the token's algorithm to KeyRead, which keyfunc calls
// with the kid only.
type algKey struct{}

// key returns the key (or jwt.VerificationKeySet, for a token without kid)
// that may verify t.
func (s *keySet) key(ctx context.Context, t *jwt.Token) (any, error) {
	switch fetched := s.fetchedAt(); {
	case fetched.IsZero():
		if err := s.fetch(ctx, fetched, false); err != nil && s.fetchedAt().IsZero() {
			return nil, fmt.Errorf("jwtauth: signing keys unavailable: %w: %w", logs.ErrUnavailable, err)
		}
	case time.Since(fetched) > s.refresh && s.fetchMu.TryLock():
		s.fetchMu.Unlock()
		if err := s.fetch(ctx, fetched, false); err != nil && !errors.Is(err, errRateLimited) {
			s.log.Warn("jwtauth: JWKS refresh failed; keeping the cached keys", "url", s.url, "err", err)
		}
	}
	alg := t.Method.Alg()
	got, err := s.kf.KeyfuncCtx(context.WithValue(ctx, algKey{}, alg))(t)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUnknownKey, err)
	}
	var keys []jwt.VerificationKey
	if set, ok := got.(jwt.VerificationKeySet); ok {
		keys = set.Keys
	} else {
		keys = []jwt.VerificationKey{got}
	}
	var found []jwt.VerificationKey
	for _, k := range keys {
		if fits(k, alg) {
			found = append(found, k)
		}
	}
	switch len(found) {
	case 0:
		return nil, errUnknownKey
	case 1:
		return found[0], nil
	}
	return jwt.VerificationKeySet{Keys: found}, nil
}

// KeyRead returns the first key of kid that fits the algorithm in ctx
// (a JWKS may hold keys of one kid and different types). When there is
// none, the JWKS is refetched (rate limited): perhaps the issuer rotated
// its keys.
func (s *keySet) KeyRead(ctx context.Context, kid string) (jwkset.JWK, error) {
	alg, _ := ctx.Value(algKey{}).(string)
	seen := s.fetchedAt()
	if j, ok := s.find(ctx, kid, alg); ok {
		return j, nil
	}
	if err := s.fetch(ctx, seen, false); err == nil {
		if j, ok := s.find(ctx, kid, alg); ok {
			return j, nil
		}
	}
	return jwkset.JWK{}, fmt.Errorf("%w: kid %q", jwkset.ErrKeyNotFound, kid)
}

func (s *keySet) find(ctx context.Context, kid, alg string) (jwkset.JWK, bool) {
	all, _ := s.KeyReadAll(ctx) // never fails
	for _, j := range all {
		m := j.Marshal()
		if m.KID == kid && (alg == "" || (m.ALG == "" || m.ALG.String() == alg) && fits(j.Key(), alg)) {
			return j, true
		}
	}
	return jwkset.JWK{}, false
}

// errRateLimited refuses a fetch within minInterval of the last.
var errRateLimited = errors.New("jwtauth: JWKS fetched too recently")

// fetch refetches the JWKS unless another fetch succeeded after seen (then
// its keys are fresh enough) or one was attempted within minInterval. With
// force, only the rate limit applies. Failures keep the cached keys.
func (s *keySet) fetch(ctx context.Context, seen time.Time, force bool) error {
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	if !force && s.fetchedAt().After(seen) {
		return nil
	}
	if !s.limit.Allow() {
		return errRateLimited
	}
	keys, err := s.download(ctx)
	if err != nil {
		return err
	}
	if err := s.KeyReplaceAll(ctx, keys); err != nil {
		return fmt.Errorf("jwtauth: store JWKS: %w", err)
	}
	s.mu.Lock()
	s.fetched = time.Now()
	s.mu.Unlock()
	return nil
}

// download fetches the JWKS and returns its usable signing keys. Keys of
// other uses or types are skipped; keys that are malformed or too weak are
// skipped with a warning.
func (s *keySet) download(ctx context.Context) ([]jwkset.JWK, error) {
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
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("jwtauth: JWKS is not a JSON key set: %w", err)
	}
	if len(doc.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("jwtauth: JWKS holds %d keys; at most %d are read", len(doc.Keys), maxJWKSKeys)
	}
	var keys []jwkset.JWK
	for i, raw := range doc.Keys {
		var m jwkset.JWKMarshal
		if err := json.Unmarshal(raw, &m); err != nil {
			s.log.Warn("jwtauth: JWKS key skipped", "url", s.url, "key", i, "err", err)
			continue
		}
		if m.USE != "" && m.USE != jwkset.UseSig {
			continue
		}
		if m.KTY != jwkset.KtyRSA && m.KTY != jwkset.KtyEC && m.KTY != jwkset.KtyOKP {
			continue
		}
		// Public keys only: private members ("d", ...) are ignored.
		j, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err == nil {
			err = usable(j.Key())
		}
		if err != nil {
			s.log.Warn("jwtauth: JWKS key skipped", "url", s.url, "key", i, "kid", m.KID, "err", err)
			continue
		}
		keys = append(keys, j)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwtauth: JWKS at %s holds no usable signing key", s.url)
	}
	return keys, nil
}

// usable checks what jwkset does not: RSA keys have at least minRSABits
// and an odd exponent, and the key is of a type that signs.
func usable(key any) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key of %d bits; at least %d are required", k.N.BitLen(), minRSABits)
		}
		if k.E < 3 || k.E%2 == 0 {
			return errors.New("RSA exponent out of range")
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return fmt.Errorf("%T is not a signing key", key)
	}
	return nil
}

// fits reports whether key is of the type and curve that alg needs.
func fits(key any, alg string) bool {
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
