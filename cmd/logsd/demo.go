package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/loghttp/jwtauth"
)

// demoTenant is the tenant logsd demo writes into.
const demoTenant = "demo"

// demoEvery is how often logsd demo writes an event.
const demoEvery = 500 * time.Millisecond

// demo serves as serve does, writes a steady flow of IAM events into the
// tenant demo (an hour of them at once, then one every demoEvery), and
// prints a read token and the commands to query, tail and export.
func (m *Main) demo(ctx context.Context) error {
	if !m.Config.hs256() {
		return errors.New("demo: needs an HS256 secret to print a token; set LOGSD_JWT_SECRET or leave the JWKS out")
	}
	if err := m.serve(ctx); err != nil {
		return err
	}
	secret, err := m.secret()
	if err != nil {
		return err
	}
	tok, err := jwtauth.Mint(secret, jwtauth.Grant{Tenant: demoTenant, Permissions: []string{loghttp.PermRead}, Subject: "logsd-demo",
		TTL: 24 * time.Hour, Issuer: m.Config.JWTIssuer, Audience: m.Config.JWTAudience})
	if err != nil {
		return fmt.Errorf("demo: token: %w", err)
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	now := time.Now()
	backfill := make([]logs.Entry, 0, 360)
	for i := range 360 {
		e := demoEvent(r)
		e.CreatedAt = now.Add(-time.Hour + time.Duration(i)*10*time.Second)
		backfill = append(backfill, e)
	}
	if _, err := m.store.Append(ctx, demoTenant, backfill); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	dctx, cancel := context.WithCancel(context.Background())
	m.demoStop = cancel
	m.demoDone.Add(1)
	go func() {
		defer m.demoDone.Done()
		t := time.NewTicker(demoEvery)
		defer t.Stop()
		for {
			select {
			case <-dctx.Done():
				return
			case <-t.C:
			}
			if _, err := m.store.Append(dctx, demoTenant, []logs.Entry{demoEvent(r)}); err != nil && dctx.Err() == nil {
				m.logger().Warn("logsd demo: append failed", "err", err)
			}
		}
	}()
	u := strings.TrimSuffix(m.Config.PublicURL, "/")
	fmt.Fprintf(m.Stdout, `
logsd demo: an hour of sample IAM events is in tenant %[2]q, and a new one comes every %[3]s.
Try, in another terminal:

  LOGSD=%[1]s
  TOKEN=%[4]s
  curl -s "$LOGSD/api/v1/logs?level=error&limit=5" -H "Authorization: Bearer $TOKEN" -H "X-Tenant-ID: %[2]s"
  curl -s "$LOGSD/api/v1/logs?search=failed&source=auth" -H "Authorization: Bearer $TOKEN" -H "X-Tenant-ID: %[2]s"
  curl -s "$LOGSD/api/v1/logs/stats" -H "Authorization: Bearer $TOKEN" -H "X-Tenant-ID: %[2]s"
  curl -sN "$LOGSD/api/v1/logs/stream?level=warn" -H "Authorization: Bearer $TOKEN" -H "X-Tenant-ID: %[2]s"
  curl -s -X POST "$LOGSD/api/v1/logs/export" -H "Authorization: Bearer $TOKEN" -H "X-Tenant-ID: %[2]s" \
    -H "Content-Type: application/json" -d '{"format":"csv","level":"error"}'
  curl -s "$LOGSD/metrics" | grep '^logsd_'

Stop with Ctrl-C.
`, u, demoTenant, demoEvery, tok)
	return nil
}

// closeDemo stops the flow of events (before the store closes).
func (m *Main) closeDemo() {
	if m.demoStop != nil {
		m.demoStop()
		m.demoDone.Wait()
		m.demoStop = nil
	}
}

var (
	demoUsers  = []string{"amina@acme.example", "omar@acme.example", "lina@acme.example", "yusuf@acme.example", "sara@acme.example"}
	demoIPs    = []string{"102.45.67.89", "41.128.200.15", "197.32.11.44", "196.200.13.7", "105.66.0.12"}
	demoAgents = []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)", "okhttp/4.12.0"}
)

// demoEvent is one realistic IAM event: mostly sign-ins, some failures,
// admin changes, federation and provisioning.
func demoEvent(r *rand.Rand) logs.Entry {
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	user, ip := pick(demoUsers), pick(demoIPs)
	md := map[string]any{"email": user, "ip": ip, "userAgent": pick(demoAgents)}
	e := logs.Entry{Metadata: md}
	switch n := r.IntN(100); {
	case n < 45:
		e.Level, e.Source, e.Message = logs.LevelInfo, "auth", "User signed in"
		md["method"] = []string{"password", "passkey", "sso"}[r.IntN(3)]
	case n < 60:
		e.Level, e.Source, e.Message = logs.LevelError, "auth", "Failed login attempt — invalid credentials"
		md["attempt"] = 1 + r.IntN(5)
	case n < 66:
		e.Level, e.Source, e.Message = logs.LevelError, "auth", "MFA verification failed — TOTP code expired"
	case n < 74:
		e.Level, e.Source, e.Message = logs.LevelWarn, "auth", "Session refresh attempted with expired refresh token"
	case n < 82:
		e.Level, e.Source, e.Message = logs.LevelInfo, "admin", "Role assigned to user"
		md["role"] = []string{"viewer", "editor", "admin"}[r.IntN(3)]
	case n < 86:
		e.Level, e.Source, e.Message = logs.LevelWarn, "admin", "Password policy changed"
	case n < 93:
		e.Level, e.Source, e.Message = logs.LevelInfo, "scim", "User provisioned from directory"
		md["provider"] = "azure-ad"
	case n < 97:
		e.Level, e.Source, e.Message = logs.LevelInfo, "idp", "OIDC token issued"
		md["clientId"] = "console"
	default:
		e.Level, e.Source, e.Message = logs.LevelError, "idp", "OIDC token introspection failed — provider unreachable"
		md["provider"] = "azure-ad"
	}
	return e
}
