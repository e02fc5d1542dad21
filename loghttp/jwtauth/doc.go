// Package jwtauth verifies the bearer tokens of the Logs API: JSON Web
// Tokens signed with an HS256 secret, or with keys published as a JWKS
// (RS256/384/512, PS256/384/512, ES256/384/512, EdDSA). A [Verifier] is a
// loghttp.Authenticator; [Mint] issues HS256 tokens (logsd token).
//
// A token is accepted when its signature verifies with a configured key of
// its algorithm's family (an HS256 token only with the secret, any other
// only with the JWKS, so "alg": "none" and algorithm confusion are
// refused), it has an exp claim, exp and nbf hold (with [Options.Leeway]),
// iss and aud match when configured, and it carries a tenant_id (a string,
// the only tenant the token may act on). Permissions come from the
// permissions claim (an array of strings) and from the OAuth scope claim
// (space-separated); both count.
//
// The JWKS is fetched on first use, with [Options.HTTPClient] and a
// [DefaultJWKSTimeout] timeout, and cached. A token whose kid the cache does
// not know triggers a refetch; cached keys older than [Options.JWKSRefresh]
// are refetched on use, and kept when the refetch fails; no more than one
// fetch happens per [Options.JWKSMinInterval], whatever the cause. Keys are
// never taken from the token (jku, x5u and jwk headers are ignored); tokens
// with a crit header are refused.
//
// Each key of the JWKS is parsed and validated by
// github.com/MicahParks/jwkset (EC points on their curve, Ed25519 and RSA
// parameters well formed, x5c certificates matching the key). The key of a
// token is looked up through github.com/MicahParks/keyfunc/v3: it reads the
// kid, refuses a key whose alg (when it has one) or use differs from the
// token's, and gathers the keys of the token's algorithm when there is no
// kid. The jwkset.Storage it reads is this package's: it holds the usable
// keys of the last fetch and refetches on an unknown kid. This package also
// adds what those libraries leave to their user: when to fetch (jwkset's
// HTTP storage fetches in its constructor and from a goroutine of its own,
// and makes a token with an unknown kid wait for its rate limiter), a JWKS
// of at most 1 MiB and 100 keys, RSA keys of at least 2048 bits, and a key
// of the token's type and curve (an ES256 token needs a P-256 key). Keys
// whose use is not "sig" and keys of other types are skipped; malformed or
// weak keys are skipped with a warning to [Options.Logger]; the others stay
// usable.
//
// # Errors
//
// A refused token is an error wrapping logs.ErrUnauthenticated, an
// *logs.Error whose Message is a short reason safe to show ("token
// expired", "bad signature", ...). When the JWKS cannot be fetched and no
// keys are cached, the error wraps logs.ErrUnavailable.
//
// # Concurrency
//
// A Verifier is safe for concurrent use; it starts no goroutines (JWKS
// fetches run on the calling goroutine, one at a time).
package jwtauth
