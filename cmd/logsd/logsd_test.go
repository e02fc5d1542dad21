package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/logsdtest"
	"github.com/ithbat/logs/internal/openapitest"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/loghttp"
)

// backends are the databases the end-to-end tests run on: SQLite,
// PostgreSQL, and PostgreSQL served as an application role that may only
// insert and read entries, migrated as the owner (LOGSD_ADMIN_DATABASE_URL).
var backends = []string{"sqlite", "postgres", "postgres-serving-role"}

// databaseEnv is the configuration of a fresh database of backend.
func databaseEnv(t *testing.T, backend string) map[string]string {
	if backend != "postgres-serving-role" {
		return map[string]string{"LOGSD_DATABASE_URL": testdb.URL(t, backend)}
	}
	owner := testdb.Postgres(t)
	return map[string]string{"LOGSD_DATABASE_URL": testdb.PostgresRole(t, owner), "LOGSD_ADMIN_DATABASE_URL": owner}
}

// envOf is a LookupEnv over a map.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestConfig(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*Config)
		cmd  string
	}{
		{name: "defaults", cmd: "serve", want: func(c *Config) {}},
		{name: "env", env: map[string]string{
			"LOGSD_ADDR": "0.0.0.0:9000", "LOGSD_DATA_DIR": "/var/lib/logsd", "LOGSD_DATABASE_URL": "postgres://u@db/logs",
			"LOGSD_BLOB_URL": "s3://bucket", "LOGSD_PUBLIC_URL": "https://logs.example", "LOGSD_JWT_SECRET": "s",
			"LOGSD_JWKS_URL": "https://id.example/jwks", "LOGSD_JWT_ISSUER": "https://id.example", "LOGSD_JWT_AUDIENCE": "logs",
			"LOGSD_SHUTDOWN_TIMEOUT": "3s",
		}, cmd: "serve", want: func(c *Config) {
			*c = Config{Addr: "0.0.0.0:9000", DataDir: "/var/lib/logsd", DatabaseURL: "postgres://u@db/logs", BlobURL: "s3://bucket",
				PublicURL: "https://logs.example", JWTSecret: "s", JWKSURL: "https://id.example/jwks", JWTIssuer: "https://id.example",
				JWTAudience: "logs", ShutdownTimeout: 3 * time.Second, LogFormat: "text", TenantRPS: 100, TenantBurst: 200, TenantIngestEPS: 20000,
				Console: true}
		}},
		{name: "operations", env: map[string]string{
			"LOGSD_METRICS": "token:scrape-secret-0123456789", "LOGSD_LOG_FORMAT": "json", "LOGSD_LOG_LEVEL": "debug",
			"LOGSD_TENANT_RPS": "0", "LOGSD_TENANT_BURST": "5", "LOGSD_TENANT_INGEST_EPS": "1000",
		}, cmd: "serve", want: func(c *Config) {
			c.Metrics, c.metricsAccess = "token:scrape-secret-0123456789", loghttp.MetricsAccess{Token: "scrape-secret-0123456789"}
			c.LogFormat, c.LogLevel = "json", logLevel{slog.LevelDebug}
			c.TenantRPS, c.TenantBurst, c.TenantIngestEPS = 0, 5, 1000
		}},
		{name: "flags win over env", args: []string{"--addr", "127.0.0.1:1", "--data-dir=/d", "serve"},
			env: map[string]string{"LOGSD_ADDR": "0.0.0.0:9000", "LOGSD_DATA_DIR": "/x"}, cmd: "serve", want: func(c *Config) {
				c.Addr, c.DataDir, c.DatabaseURL, c.BlobURL = "127.0.0.1:1", "/d", "sqlite:///d/logs.db", "file:///d/exports"
			}},
		{name: "flags after the command", args: []string{"migrate", "--database-url", "postgres://h/db"}, cmd: "migrate",
			want: func(c *Config) { c.DatabaseURL = "postgres://h/db" }},
		{name: "empty env is unset", env: map[string]string{"LOGSD_ADDR": ""}, cmd: "serve", want: func(c *Config) {}},
		{name: "console off", env: map[string]string{"LOGSD_CONSOLE": "false"}, cmd: "serve", want: func(c *Config) { c.Console = false }},
		{name: "console off by flag", args: []string{"--console=false"}, env: map[string]string{"LOGSD_CONSOLE": "true"}, cmd: "serve",
			want: func(c *Config) { c.Console = false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMain("logsd", io.Discard, io.Discard)
			require.NoError(t, m.ParseArgs(tt.args, envOf(tt.env)))
			want := Config{Addr: "127.0.0.1:8080", DataDir: filepath.Join(wd, "logsd-data"),
				DatabaseURL: "sqlite://" + filepath.Join(wd, "logsd-data", "logs.db"),
				BlobURL:     "file://" + filepath.Join(wd, "logsd-data", "exports"), ShutdownTimeout: 10 * time.Second,
				LogFormat: "text", TenantRPS: 100, TenantBurst: 200, TenantIngestEPS: 20000, Console: true}
			tt.want(&want)
			assert.Equal(t, want, m.Config)
			assert.Equal(t, tt.cmd, m.Command)
		})
	}
	t.Run("bad operations settings", func(t *testing.T) {
		for k, v := range map[string]string{"LOGSD_METRICS": "token:short", "LOGSD_LOG_FORMAT": "xml", "LOGSD_LOG_LEVEL": "loud", "LOGSD_TENANT_RPS": "-1",
			"LOGSD_CORS_ORIGINS": "https://ok.example,console.example.com/path"} {
			err := NewMain("logsd", io.Discard, io.Discard).ParseArgs(nil, envOf(map[string]string{k: v}))
			assert.ErrorContains(t, err, k, "%s=%s", k, v)
		}
		origins, err := (&Config{CORSOrigins: " https://a.example , http://b.example:8080/ ,*"}).corsOrigins()
		require.NoError(t, err)
		assert.Equal(t, []string{"https://a.example", "http://b.example:8080", "*"}, origins)
		c := Config{TenantRPS: 0, TenantBurst: 3, TenantIngestEPS: 0}
		assert.Equal(t, loghttp.Limits{RPS: -1, Burst: 3, IngestEPS: -1}, c.limits(), "0 turns a limit off")
	})
	t.Run("token flags", func(t *testing.T) {
		m := NewMain("logsd", io.Discard, io.Discard)
		require.NoError(t, m.ParseArgs([]string{"--data-dir", "/d", "token", "--tenant", "acme", "--permissions", "log:read,log:write", "--ttl", "2h"}, envOf(nil)))
		assert.Equal(t, TokenArgs{Tenant: "acme", Permissions: "log:read,log:write", TTL: 2 * time.Hour, Subject: "logsd-token"}, m.Token)
		assert.Equal(t, "/d", m.Config.DataDir)
	})
	for name, args := range map[string][]string{
		"unknown command":     {"frobnicate"},
		"unknown flag":        {"--nope"},
		"stray argument":      {"serve", "extra"},
		"token w/o tenant":    {"token"},
		"token flag on serve": {"--tenant", "acme"},
		"bad duration":        {"--shutdown-timeout", "soon"},
		"bad boolean":         {"--console=maybe"},
	} {
		t.Run("refused: "+name, func(t *testing.T) {
			m := NewMain("logsd", io.Discard, io.Discard)
			require.Error(t, m.ParseArgs(args, envOf(nil)))
		})
	}
	t.Run("help", func(t *testing.T) {
		var out bytes.Buffer
		m := NewMain("logsd", io.Discard, &out)
		require.ErrorIs(t, m.ParseArgs([]string{"-h"}, envOf(nil)), flag.ErrHelp)
		for _, env := range []string{"LOGSD_ADDR", "LOGSD_DATA_DIR", "LOGSD_DATABASE_URL", "LOGSD_BLOB_URL", "LOGSD_PUBLIC_URL",
			"LOGSD_JWT_SECRET", "LOGSD_JWKS_URL", "LOGSD_JWT_ISSUER", "LOGSD_JWT_AUDIENCE"} {
			assert.Contains(t, out.String(), env)
			flagName := "--" + strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "LOGSD_")), "_", "-")
			assert.Contains(t, out.String(), flagName+" ")
		}
	})
	t.Run("bad env", func(t *testing.T) {
		m := NewMain("logsd", io.Discard, io.Discard)
		err := m.ParseArgs(nil, envOf(map[string]string{"LOGSD_SHUTDOWN_TIMEOUT": "x"}))
		require.ErrorContains(t, err, "LOGSD_SHUTDOWN_TIMEOUT")
	})
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer = logsdtest.SyncBuffer

// run runs one logsd command to completion and returns its stdout.
func run(tb testing.TB, env map[string]string, args ...string) (string, error) {
	tb.Helper()
	var out, errOut syncBuffer
	m := NewMain("logsd", &out, &errOut)
	if err := m.ParseArgs(args, envOf(env)); err != nil {
		return "", err
	}
	err := m.Run(tb.Context())
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	return out.String(), err
}

// daemon is a logsd serving on 127.0.0.1:0.
type daemon struct {
	*Main
	URL string
	out *syncBuffer
	log *syncBuffer
}

func start(tb testing.TB, env map[string]string, args ...string) *daemon {
	tb.Helper()
	d := &daemon{out: &syncBuffer{}, log: &syncBuffer{}}
	d.Main = NewMain("logsd", d.out, d.log)
	d.Logger = slog.New(slog.NewTextHandler(d.log, nil))
	require.NoError(tb, d.ParseArgs(append([]string{"--addr", "127.0.0.1:0"}, args...), envOf(env)))
	require.NoError(tb, d.Run(tb.Context()))
	tb.Cleanup(func() { _ = d.Close() })
	d.URL = "http://" + d.Addr().String()
	return d
}

// call makes a request and decodes the envelope.
func call(tb testing.TB, method, url, token, tenant, body string) (int, map[string]any) {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), method, url, strings.NewReader(body))
	require.NoError(tb, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if tenant != "" {
		req.Header.Set("X-Tenant-ID", tenant)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	openapitest.Check(tb, req, resp.StatusCode, resp.Header, raw)
	var env map[string]any
	require.NoError(tb, json.Unmarshal(raw, &env))
	return resp.StatusCode, env
}

func TestServe(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			env := databaseEnv(t, backend)
			env["LOGSD_DATA_DIR"] = dir
			d := start(t, env)

			tok, err := run(t, env, "token", "--tenant", "acme", "--permissions", "log:read,log:write")
			require.NoError(t, err)
			tok = strings.TrimSpace(tok)

			status, body := call(t, http.MethodPost, d.URL+"/api/v1/logs", tok, "acme", `{"level":"error","source":"auth","message":"first request"}`)
			require.Equal(t, 201, status, body)
			status, body = call(t, http.MethodGet, d.URL+"/api/v1/logs?level=error", tok, "acme", "")
			require.Equal(t, 200, status, body)
			data := body["data"].(map[string]any)
			assert.EqualValues(t, 1, data["total"])
			assert.Equal(t, "first request", data["logs"].([]any)[0].(map[string]any)["message"])

			status, _ = call(t, http.MethodGet, d.URL+"/api/v1/logs", tok, "globex", "")
			assert.Equal(t, 403, status)
			status, _ = call(t, http.MethodGet, d.URL+"/healthz", "", "", "")
			assert.Equal(t, 200, status)

			require.NoError(t, d.Close())
			_, err = net.DialTimeout("tcp", d.Addr().String(), time.Second)
			require.Error(t, err, "closed servers do not listen")
			assert.Contains(t, d.log.String(), "logsd: stopped")
			assert.NotContains(t, d.out.String(), "Make a first request", "the greeting is for the embedded default only")
			if backend == "postgres" {
				assert.Contains(t, d.log.String(), "serving as a PostgreSQL superuser", "a warning names the privileged role")
			} else {
				assert.NotContains(t, d.log.String(), "serving as a PostgreSQL")
			}
		})
	}
}

func TestEmbeddedDefault(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fresh")
	env := map[string]string{"LOGSD_DATA_DIR": dir}

	// token first, on a fresh data folder: it creates the secret...
	tok, err := run(t, env, "token", "--tenant", "acme", "--permissions", "log:read,log:write", "--ttl", "10m")
	require.NoError(t, err)
	tok = strings.TrimSpace(tok)
	fi, err := os.Stat(filepath.Join(dir, secretFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	secret, err := os.ReadFile(filepath.Join(dir, secretFile))
	require.NoError(t, err)

	// ... which the server then uses.
	d := start(t, env)
	status, body := call(t, http.MethodPost, d.URL+"/api/v1/logs", tok, "acme", `{"level":"info","source":"auth","message":"hi"}`)
	require.Equal(t, 201, status, body)
	greeting := d.out.String()
	assert.Contains(t, greeting, "logsd token --data-dir "+dir+" --tenant acme --permissions log:read,log:write")
	assert.Contains(t, greeting, "curl -s -X POST "+d.URL+"/api/v1/logs")
	assert.Contains(t, greeting, `curl -s "`+d.URL+`/api/v1/logs?level=info"`)
	assert.Contains(t, greeting, filepath.Join(dir, "logs.db"))
	assert.Contains(t, greeting, "open the console, "+d.URL+"/ in a browser")
	require.NoError(t, d.Close())

	// A restart reuses the secret and the database.
	d = start(t, env)
	status, body = call(t, http.MethodGet, d.URL+"/api/v1/logs", tok, "acme", "")
	require.Equal(t, 200, status, body)
	assert.EqualValues(t, 1, body["data"].(map[string]any)["total"])
	again, err := os.ReadFile(filepath.Join(dir, secretFile))
	require.NoError(t, err)
	assert.Equal(t, secret, again)
	assert.DirExists(t, filepath.Join(dir, "exports"))

	t.Run("a token of another secret is refused", func(t *testing.T) {
		other, err := run(t, map[string]string{"LOGSD_DATA_DIR": t.TempDir()}, "token", "--tenant", "acme")
		require.NoError(t, err)
		status, body := call(t, http.MethodGet, d.URL+"/api/v1/logs", strings.TrimSpace(other), "acme", "")
		assert.Equal(t, 401, status, body)
	})
}

func TestSecretFile(t *testing.T) {
	t.Run("loose permissions are refused", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, secretFile), []byte(strings.Repeat("s", 64)), 0o644))
		_, err := run(t, map[string]string{"LOGSD_DATA_DIR": dir}, "token", "--tenant", "acme")
		require.ErrorContains(t, err, "chmod 600")
	})
	t.Run("a short secret is refused", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, secretFile), []byte("short"), 0o600))
		_, err := run(t, map[string]string{"LOGSD_DATA_DIR": dir}, "token", "--tenant", "acme")
		require.Error(t, err)
	})
	t.Run("LOGSD_JWT_SECRET", func(t *testing.T) {
		dir := t.TempDir()
		s := strings.Repeat("k", 40)
		env := map[string]string{"LOGSD_DATA_DIR": dir, "LOGSD_JWT_SECRET": s, "LOGSD_JWT_ISSUER": "logsd-test", "LOGSD_JWT_AUDIENCE": "logs"}
		tok, err := run(t, env, "token", "--tenant", "acme")
		require.NoError(t, err)
		assert.NoFileExists(t, filepath.Join(dir, secretFile), "no secret is generated when one is configured")
		parsed, err := jwt.Parse(strings.TrimSpace(tok), func(*jwt.Token) (any, error) { return []byte(s), nil })
		require.NoError(t, err)
		c := parsed.Claims.(jwt.MapClaims)
		assert.Equal(t, "logsd-test", c["iss"])
		assert.Equal(t, "logs", c["aud"])
		assert.Equal(t, "acme", c["tenant_id"])
		assert.Equal(t, []any{"log:read"}, c["permissions"])

		d := start(t, env)
		status, _ := call(t, http.MethodGet, d.URL+"/api/v1/logs", strings.TrimSpace(tok), "acme", "")
		assert.Equal(t, 200, status)
		assert.NotContains(t, d.out.String(), "Make a first request")

		_, err = run(t, map[string]string{"LOGSD_DATA_DIR": dir, "LOGSD_JWT_SECRET": "too-short"}, "token", "--tenant", "acme")
		require.ErrorContains(t, err, "LOGSD_JWT_SECRET")
	})
	t.Run("token refuses unknown permissions", func(t *testing.T) {
		_, err := run(t, map[string]string{"LOGSD_DATA_DIR": t.TempDir()}, "token", "--tenant", "acme", "--permissions", "logs:read")
		require.ErrorContains(t, err, "unknown permission")
	})
}

func TestJWKSConfig(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	b, err := key.PublicKey.Bytes()
	require.NoError(t, err)
	enc := base64.RawURLEncoding.EncodeToString
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]string{"kty": "EC", "crv": "P-256", "kid": "k1", "x": enc(b[1:33]), "y": enc(b[33:])}}})
	}))
	t.Cleanup(jwks.Close)

	dir := t.TempDir()
	env := map[string]string{"LOGSD_DATA_DIR": dir, "LOGSD_JWKS_URL": jwks.URL, "LOGSD_JWT_ISSUER": "https://id.test"}
	d := start(t, env)
	assert.NoFileExists(t, filepath.Join(dir, secretFile))

	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"tenant_id": "acme", "scope": "log:read", "iss": "https://id.test",
		"exp": time.Now().Add(time.Hour).Unix()})
	tok.Header["kid"] = "k1"
	signed, err := tok.SignedString(key)
	require.NoError(t, err)
	status, body := call(t, http.MethodGet, d.URL+"/api/v1/logs", signed, "acme", "")
	assert.Equal(t, 200, status, body)

	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"tenant_id": "acme", "scope": "log:read", "iss": "https://id.test",
		"exp": time.Now().Add(time.Hour).Unix()})
	hsSigned, err := hs.SignedString([]byte(strings.Repeat("x", 40)))
	require.NoError(t, err)
	status, body = call(t, http.MethodGet, d.URL+"/api/v1/logs", hsSigned, "acme", "")
	assert.Equal(t, 401, status, body)

	_, err = run(t, env, "token", "--tenant", "acme")
	require.ErrorContains(t, err, "LOGSD_JWKS_URL")
}

func TestCommands(t *testing.T) {
	out, err := run(t, nil, "version")
	require.NoError(t, err)
	assert.Regexp(t, `^logsd \S+ \(go1\.\d+`, out)

	for _, backend := range testdb.Backends() {
		t.Run("migrate "+backend, func(t *testing.T) {
			url := testdb.URL(t, backend)
			_, err := run(t, map[string]string{"LOGSD_DATA_DIR": t.TempDir(), "LOGSD_DATABASE_URL": url}, "migrate")
			require.NoError(t, err)
			_, err = run(t, map[string]string{"LOGSD_DATA_DIR": t.TempDir(), "LOGSD_DATABASE_URL": url}, "migrate")
			require.NoError(t, err, "migrate twice")
		})
	}
	t.Run("bad database URL", func(t *testing.T) {
		_, err := run(t, map[string]string{"LOGSD_DATA_DIR": t.TempDir(), "LOGSD_DATABASE_URL": "mysql://x:secretpw@h/db"}, "migrate")
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "secretpw")
	})
	t.Run("address in use", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		m := NewMain("logsd", io.Discard, io.Discard)
		require.NoError(t, m.ParseArgs([]string{"--addr", ln.Addr().String(), "--data-dir", t.TempDir()}, envOf(nil)))
		err = m.Run(t.Context())
		require.ErrorContains(t, err, "listen")
		require.NoError(t, m.Close())
	})
}

// TestSignal runs the real binary and stops it with SIGTERM and SIGINT.
func TestSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "logsd")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--addr", "127.0.0.1:0")
			cmd.Dir = t.TempDir()
			cmd.Env = append(os.Environ(), "LOGSD_DATABASE_URL=", "LOGSD_DATA_DIR=", "LOGSD_JWT_SECRET=", "LOGSD_JWKS_URL=")
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var stderr syncBuffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())

			// The greeting names the address; follow it to a first request.
			sc := bufio.NewScanner(stdout)
			re := regexp.MustCompile(`serving the Logs API at (http://\S+)`)
			var url string
			for sc.Scan() {
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					url = m[1]
					break
				}
			}
			require.NotEmpty(t, url, "stderr: %s", stderr.String())
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			tok, err := exec.Command(bin, "token", "--data-dir", filepath.Join(cmd.Dir, "logsd-data"), "--tenant", "acme").Output()
			require.NoError(t, err)
			status, body := call(t, http.MethodGet, url+"/api/v1/logs", strings.TrimSpace(string(tok)), "acme", "")
			require.Equal(t, 200, status, body)

			require.NoError(t, cmd.Process.Signal(sig))
			err = cmd.Wait()
			require.NoError(t, err, "exit status after %v; stderr: %s", sig, stderr.String())
			assert.Contains(t, stderr.String(), "logsd: stopped")
			var ee *exec.ExitError
			assert.False(t, errors.As(err, &ee))
		})
	}
}

func TestPublicURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"0.0.0.0:80":     "http://localhost:80",
		"[::]:9000":      "http://localhost:9000",
		"[::1]:9000":     "http://[::1]:9000",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		require.NoError(t, err)
		assert.Equal(t, want, publicURL(a), addr)
	}
	assert.Equal(t, "postgres://u:xxxxx@h/db", redact("postgres://u:pw@h/db"))
	assert.Equal(t, "postgres://u@h/db?password=xxxxx&sslmode=require&sslpassword=xxxxx",
		redact("postgres://u@h/db?sslmode=require&password=pw&sslpassword=kpw"), "pgx takes passwords in the query too")
	assert.Equal(t, "'/a b/c'", shellQuote("/a b/c"))
	assert.Equal(t, "/a/b", shellQuote("/a/b"))
}
