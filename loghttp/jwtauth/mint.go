package jwtauth

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/ithbat/logs"
)

// MaxTTL is the longest lifetime Mint gives a token.
const MaxTTL = 366 * 24 * time.Hour

// Grant is what a minted token allows.
type Grant struct {
	Tenant      string        // required: the tenant_id claim
	Permissions []string      // the permissions claim, such as loghttp.PermRead
	Subject     string        // the sub claim; may be empty
	TTL         time.Duration // lifetime, 1 s to MaxTTL
	Issuer      string        // the iss claim, when the verifier checks it
	Audience    string        // the aud claim, when the verifier checks it
	Now         time.Time     // issue time; zero means time.Now()
}

// Mint returns an HS256 token for g signed with secret (at least
// MinSecretLen bytes), with the claims a Verifier with the same secret,
// issuer and audience accepts.
func Mint(secret []byte, g Grant) (string, error) {
	if len(secret) < MinSecretLen {
		return "", fmt.Errorf("jwtauth: mint: the secret has %d bytes; at least %d are required", len(secret), MinSecretLen)
	}
	if err := logs.ValidateTenant("tenant", g.Tenant); err != nil {
		return "", fmt.Errorf("jwtauth: mint: %w", err)
	}
	if g.TTL < time.Second || g.TTL > MaxTTL {
		return "", fmt.Errorf("jwtauth: mint: ttl %s: must be from 1s to %s", g.TTL, MaxTTL)
	}
	perms := []string{}
	for _, p := range g.Permissions {
		if p == "" || strings.ContainsAny(p, " \t\r\n\"") {
			return "", fmt.Errorf("jwtauth: mint: permission %q: must be a word such as log:read", p)
		}
		perms = appendNew(perms, p)
	}
	if len(perms) == 0 {
		return "", errors.New("jwtauth: mint: at least one permission is required")
	}
	now := g.Now
	if now.IsZero() {
		now = time.Now()
	}
	c := jwt.MapClaims{
		"tenant_id":   g.Tenant,
		"permissions": perms,
		"iat":         now.Unix(),
		"exp":         now.Add(g.TTL).Unix(),
		"jti":         uuid.NewString(),
	}
	if g.Subject != "" {
		c["sub"] = g.Subject
	}
	if g.Issuer != "" {
		c["iss"] = g.Issuer
	}
	if g.Audience != "" {
		c["aud"] = g.Audience
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("jwtauth: mint: %w", err)
	}
	return s, nil
}
