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
// The JWKS is fetched on first use and cached. A token whose kid the cache
// does not know triggers a refetch, at most one per
// [Options.JWKSMinInterval]; cached keys older than [Options.JWKSRefresh] are
// refetched on use, and kept when the refetch fails. Keys are never taken
// from the token (jku, x5u and jwk headers are ignored); tokens with a crit
// header are refused.
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
