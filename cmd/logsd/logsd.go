package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"

	"github.com/ithbat/logs/internal/secrets"
	"github.com/ithbat/logs/logconsole"
	"github.com/ithbat/logs/logconsume"
	"github.com/ithbat/logs/logexport"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/loghttp/jwtauth"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logsink"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstore/bunstore"
	"github.com/ithbat/logs/logstream"
	"github.com/ithbat/logs/logtree"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// secretFile is the name of the generated HS256 secret in the data folder.
const secretFile = "jwt-secret"

// Main is one run of logsd: configuration, then a command.
type Main struct {
	Config  Config
	Command string // serve, migrate, token or version
	Token   TokenArgs
	Verify  VerifyArgs

	// Name is how the user started logsd (os.Args[0]), for the hints it prints.
	Name   string
	Stdout io.Writer
	Stderr io.Writer
	Logger *slog.Logger

	store     *bunstore.Store
	bucket    *blob.Bucket
	exporter  *logexport.Exporter
	stream    *logstream.Broadcaster
	server    *http.Server
	listener  net.Listener
	done      chan struct{} // closed when the server stops serving
	retention *logstore.Retention
	consumers *logconsume.Runner
	sinks     *logsink.Manager
	cursors   *logquery.Cursors
	metrics   *loghttp.Metrics
	tree      *logtree.Log
	serveErr  error // why, when it was not Close; read after done
	demoStop  context.CancelFunc
	demoDone  sync.WaitGroup
}

// TokenArgs are the flags of logsd token.
type TokenArgs struct {
	Tenant      string
	Permissions string
	TTL         time.Duration
	Subject     string
}

// NewMain returns a Main that writes to stdout and stderr.
func NewMain(name string, stdout, stderr io.Writer) *Main {
	return &Main{Name: name, Stdout: stdout, Stderr: stderr}
}

var commands = []struct{ name, help string }{
	{"serve", "serve the Logs API (the default)"},
	{"demo", "serve, with a steady flow of sample IAM events into tenant demo, and print a token and commands to try"},
	{"migrate", "create or upgrade the database schema, then exit"},
	{"retention", "purge the entries older than the retention once, then exit (for a serving role that may not: run it as the owner)"},
	{"verify", "verify a tenant's verifiable log against the database and the bucket's checkpoints, then exit (non-zero on a failure): verify --tenant T [--key VERIFIERKEY] [--start T] [--end T]"},
	{"token", "print an HS256 token: token --tenant T --permissions log:read,log:write [--ttl 1h] [--subject S]"},
	{"version", "print the version"},
}

// ParseArgs reads the configuration: defaults, then LOGSD_* variables
// (through lookupEnv), then flags, which may stand before and after the
// command. It returns flag.ErrHelp after printing the usage for -h.
func (m *Main) ParseArgs(args []string, lookupEnv func(string) (string, bool)) error {
	if err := m.Config.load(lookupEnv); err != nil {
		return err
	}
	global := m.flagSet("logsd")
	if err := global.Parse(args); err != nil {
		return err
	}
	m.Command = "serve"
	rest := global.Args()
	if len(rest) > 0 {
		m.Command, rest = rest[0], rest[1:]
	}
	known := false
	for _, c := range commands {
		known = known || c.name == m.Command
	}
	if !known {
		m.usage()
		return fmt.Errorf("unknown command %q", m.Command)
	}
	cmd := m.flagSet("logsd " + m.Command)
	if m.Command == "token" {
		cmd.StringVar(&m.Token.Tenant, "tenant", "", "the tenant the token acts for (required)")
		cmd.StringVar(&m.Token.Permissions, "permissions", loghttp.PermRead, "comma-separated: log:read, log:write, log:admin")
		cmd.DurationVar(&m.Token.TTL, "ttl", time.Hour, "lifetime of the token")
		cmd.StringVar(&m.Token.Subject, "subject", "logsd-token", "the sub claim")
	}
	if m.Command == "verify" {
		cmd.StringVar(&m.Verify.Tenant, "tenant", "", "the tenant whose log is verified (required)")
		cmd.StringVar(&m.Verify.Key, "key", "", "the public key to trust, as GET /api/v1/logs/checkpoints/key gives it (default: that of the signing key)")
		cmd.StringVar(&m.Verify.Start, "start", "", "check the content of entries created from this time on (RFC 3339 or a date)")
		cmd.StringVar(&m.Verify.End, "end", "", "check the content of entries created up to this time")
	}
	if err := cmd.Parse(rest); err != nil {
		return err
	}
	if cmd.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", cmd.Arg(0))
	}
	if m.Command == "token" && m.Token.Tenant == "" {
		return errors.New("token: --tenant is required")
	}
	if m.Command == "verify" && m.Verify.Tenant == "" {
		return errors.New("verify: --tenant is required")
	}
	return m.Config.resolve()
}

func (m *Main) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		m.usage()
		if name != "logsd" {
			fmt.Fprintf(m.Stderr, "\nFlags of %s:\n", name)
			fs.VisitAll(func(f *flag.Flag) {
				if f.Name == "tenant" || f.Name == "permissions" || f.Name == "ttl" || f.Name == "subject" ||
					f.Name == "key" || f.Name == "start" || f.Name == "end" {
					fmt.Fprintf(m.Stderr, "  --%-17s %s (default %q)\n", f.Name, f.Usage, f.DefValue)
				}
			})
		}
	}
	m.Config.register(fs)
	return fs
}

func (m *Main) usage() {
	w := m.Stderr
	fmt.Fprintf(w, "Usage: logsd [flags] [command] [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.help)
	}
	fmt.Fprintf(w, "\nFlags, each also read from its environment variable (the flag wins):\n")
	var c Config
	c.writeSettings(w)
}

// logger is Main.Logger, else a logger on stderr in the configured
// format (LOGSD_LOG_FORMAT) and level (LOGSD_LOG_LEVEL).
func (m *Main) logger() *slog.Logger {
	if m.Logger == nil {
		opts := &slog.HandlerOptions{Level: m.Config.LogLevel.level()}
		if m.Config.LogFormat == "json" {
			m.Logger = slog.New(slog.NewJSONHandler(m.Stderr, opts))
		} else {
			m.Logger = slog.New(slog.NewTextHandler(m.Stderr, opts))
		}
	}
	return m.Logger
}

// Run runs the command. For serve it returns once the server listens; Wait
// waits for it to stop and Close stops it.
func (m *Main) Run(ctx context.Context) error {
	switch m.Command {
	case "version":
		fmt.Fprintln(m.Stdout, versionString())
		return nil
	case "token":
		return m.mintToken()
	case "migrate":
		return m.migrate(ctx)
	case "retention":
		return m.purge(ctx)
	case "demo":
		return m.demo(ctx)
	case "verify":
		return m.verify(ctx)
	}
	return m.serve(ctx)
}

// Wait returns when ctx ends (nil) or the server stops on its own (its
// error). It returns at once for commands other than serve.
func (m *Main) Wait(ctx context.Context) error {
	if m.done == nil {
		return nil
	}
	select {
	case <-ctx.Done():
		return nil
	case <-m.done:
		return m.serveErr
	}
}

// Addr is the address the server listens on (nil before Run).
func (m *Main) Addr() net.Addr {
	if m.listener == nil {
		return nil
	}
	return m.listener.Addr()
}

// Close ends the live streams (event: end, reason shutdown), stops the
// server gracefully (within Config.ShutdownTimeout, then it closes the
// remaining connections) and then the store.
func (m *Main) Close() error {
	var errs []error
	if err := m.closeStream(); err != nil { // streams end first, or Shutdown waits for them
		errs = append(errs, fmt.Errorf("close stream: %w", err))
	}
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
		err := m.server.Shutdown(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			m.logger().Warn("logsd: requests still running at the shutdown timeout; closing them", "timeout", m.Config.ShutdownTimeout)
			err = m.server.Close()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
		<-m.done
		m.server = nil
		m.logger().Info("logsd: stopped")
	}
	if m.retention != nil {
		_ = m.retention.Close()
		m.retention = nil
	}
	if m.consumers != nil {
		_ = m.consumers.Close()
		m.consumers = nil
	}
	if m.sinks != nil {
		_ = m.sinks.Close()
		m.sinks = nil
	}
	if err := m.closeExporter(); err != nil {
		errs = append(errs, fmt.Errorf("close exporter: %w", err))
	}
	m.closeDemo()
	if m.store != nil {
		if err := m.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
		m.store = nil
	}
	return errors.Join(errs...)
}

// serve opens the store, listens and serves in a goroutine.
func (m *Main) serve(ctx context.Context) error {
	c := &m.Config
	log := m.logger()
	m.metrics = loghttp.NewMetrics()
	auth, err := m.authenticator()
	if err != nil {
		return err
	}
	if c.JWKSURL != "" {
		if err := auth.Refresh(ctx); err != nil {
			log.Warn("logsd: cannot fetch the JWKS yet; will retry on the first request", "url", c.JWKSURL, "err", err)
		}
	}
	if strings.HasPrefix(c.BlobURL, "file://") && c.BlobURL == "file://"+filepath.ToSlash(filepath.Join(c.DataDir, "exports")) {
		if err := os.MkdirAll(filepath.Join(c.DataDir, "exports"), 0o700); err != nil {
			return fmt.Errorf("data folder: %w", err)
		}
	}
	if m.store, err = m.openStore(ctx); err != nil {
		return err
	}
	purge, err := m.checkRole(ctx)
	if err != nil {
		return err
	}
	if m.listener, err = net.Listen("tcp", c.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	if c.PublicURL == "" {
		c.PublicURL = publicURL(m.listener.Addr())
	}
	if err := m.openExporter(ctx); err != nil {
		_ = m.listener.Close()
		return err
	}
	if err := m.openStream(ctx); err != nil {
		_ = m.listener.Close()
		return err
	}
	if err := m.openLogStreams(); err != nil {
		_ = m.listener.Close()
		return err
	}
	if err := m.openTree(); err != nil {
		_ = m.listener.Close()
		return err
	}
	origins, _ := c.corsOrigins() // checked by resolve
	m.consumers = logconsume.New(m.store, m.store, &logconsume.Options{Logger: log})
	if err := m.metrics.Consumers(m.consumers); err != nil {
		_ = m.listener.Close()
		return err
	}
	opts := &loghttp.Options{Authenticator: auth, Logger: log, Export: m.exporter, Stream: m.stream,
		Cursors: m.cursors, Settings: m.store, LogStreams: m.sinks, Metrics: m.metrics, MetricsAccess: c.metricsAccess,
		Ready: m.readyChecks(), Limits: c.limits(), CORSOrigins: origins, Tree: m.tree}
	if c.Console {
		opts.Console = logconsole.Handler()
	}
	api := loghttp.New(m.store, opts)
	m.server = &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if err := m.consumers.Add(logconsume.Rollups()); err != nil {
		_ = m.listener.Close()
		return err
	}
	if err := m.consumers.Add(m.tree.Spec()); err != nil {
		_ = m.listener.Close()
		return err
	}
	if purge {
		m.retention = logstore.NewRetention(m.store, &logstore.RetentionOptions{Logger: log, OnPurge: m.metrics.RetentionRun})
		m.retention.Start()
	}
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		if err := m.server.Serve(m.listener); !errors.Is(err, http.ErrServerClosed) {
			m.serveErr = fmt.Errorf("serve: %w", err)
		}
	}()
	log.Info("logsd: serving the Logs API", "addr", m.listener.Addr().String(), "publicURL", c.PublicURL,
		"database", redact(c.DatabaseURL), "version", versionString())
	log.Info("logsd: the verifiable log's checkpoints are signed with this key; keep its public key to check them",
		"verifierKey", m.tree.Key().VerifierKey)
	m.greet()
	return nil
}

// readyChecks are what GET /readyz checks: the database answers, its
// schema is current (another replica may have migrated past this one's
// binary, or nobody migrated), and the export bucket answers.
func (m *Main) readyChecks() []loghttp.ReadyCheck {
	return []loghttp.ReadyCheck{
		{Name: "database", Check: m.store.Ping},
		{Name: "schema", Check: func(ctx context.Context) error {
			ok, err := m.store.SchemaCurrent(ctx)
			if err == nil && !ok {
				err = errors.New("the database schema is not the one this logsd expects: run logsd migrate")
			}
			return err
		}},
		{Name: "blob", Check: func(ctx context.Context) error {
			ok, err := m.bucket.IsAccessible(ctx)
			if err == nil && !ok {
				err = errors.New("the export bucket does not exist")
			}
			return err
		}},
	}
}

// greet tells a new user, on the embedded default, how to make a first
// request.
func (m *Main) greet() {
	c := &m.Config
	if !c.embeddedDB() || c.JWTSecret != "" || c.JWKSURL != "" || m.Command == "demo" {
		return
	}
	name := m.Name
	if name == "" || strings.Contains(name, "go-build") {
		name = "go run ./cmd/logsd"
	}
	dataDir := ""
	if wd, err := os.Getwd(); err != nil || c.DataDir != filepath.Join(wd, "logsd-data") {
		dataDir = " --data-dir " + shellQuote(c.DataDir)
	}
	u := strings.TrimSuffix(c.PublicURL, "/")
	consoleLine := ""
	if c.Console {
		consoleLine = "\nOr open the console, " + u + "/ in a browser, and paste the token there (echo $TOKEN shows it).\n"
	}
	fmt.Fprintf(m.Stdout, `
logsd is serving the Logs API at %[1]s
  database: SQLite file %[2]s
  tokens:   HS256, secret in %[3]s
  checkpoints of the verifiable log are signed with the key whose public key is
    %[7]s

Make a first request (in another terminal, from this folder):

  TOKEN=$(%[4]s token%[5]s --tenant acme --permissions log:read,log:write)
  curl -s -X POST %[1]s/api/v1/logs -H "Authorization: Bearer $TOKEN" -H "X-Tenant-ID: acme" \
    -H "Content-Type: application/json" -d '{"level":"info","source":"auth","message":"hello from logsd"}'
  curl -s "%[1]s/api/v1/logs?level=info" -H "Authorization: Bearer $TOKEN" -H "X-Tenant-ID: acme"
%[6]s
Stop with Ctrl-C.
`, u, filepath.Join(c.DataDir, "logs.db"), filepath.Join(c.DataDir, secretFile), name, dataDir, consoleLine, m.tree.Key().VerifierKey)
}

// authenticator builds the token verifier of the configuration.
func (m *Main) authenticator() (*jwtauth.Verifier, error) {
	c := &m.Config
	opts := &jwtauth.Options{JWKSURL: c.JWKSURL, Issuer: c.JWTIssuer, Audience: c.JWTAudience, Logger: m.logger()}
	if c.hs256() {
		secret, err := m.secret()
		if err != nil {
			return nil, err
		}
		opts.Secret = secret
	}
	v, err := jwtauth.New(opts)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// secret returns the HS256 secret: LOGSD_JWT_SECRET, else the one in the
// data folder, generated there on first use.
func (m *Main) secret() ([]byte, error) {
	c := &m.Config
	if c.JWTSecret != "" {
		if len(c.JWTSecret) < jwtauth.MinSecretLen {
			return nil, fmt.Errorf("LOGSD_JWT_SECRET (--jwt-secret) has %d bytes; at least %d are required", len(c.JWTSecret), jwtauth.MinSecretLen)
		}
		return []byte(c.JWTSecret), nil
	}
	path := filepath.Join(c.DataDir, secretFile)
	s, created, err := secrets.LoadOrCreate(path, jwtauth.MinSecretLen)
	if err != nil {
		return nil, fmt.Errorf("JWT secret: %w", err)
	}
	if created {
		m.logger().Info("logsd: generated a JWT secret", "file", path)
	}
	return s, nil
}

// derivedKey is the key for purpose: the configured one (named by the
// setting flagName, at least minLen bytes), else one derived from the
// HS256 JWT secret. With only a JWKS there is no secret to share: a
// random key is made for this process, and warning says what that
// costs.
func (m *Main) derivedKey(configured, flagName string, minLen int, purpose, warning string) ([]byte, error) {
	switch {
	case configured != "":
		if len(configured) < minLen {
			return nil, fmt.Errorf("%s (--%s) has %d bytes; at least %d are required", envName(flagName), flagName, len(configured), minLen)
		}
		return []byte(configured), nil
	case m.Config.hs256():
		s, err := m.secret()
		if err != nil {
			return nil, err
		}
		return secrets.Derive(s, purpose, 32), nil
	}
	m.logger().Warn(warning)
	return secrets.Random(32), nil
}

// mintToken prints a token signed with the secret the server uses.
func (m *Main) mintToken() error {
	c := &m.Config
	if !c.hs256() {
		return errors.New("token: logsd verifies tokens with LOGSD_JWKS_URL, so tokens come from that identity provider; " +
			"set LOGSD_JWT_SECRET as well to mint HS256 tokens here")
	}
	var perms []string
	for _, p := range strings.Split(m.Token.Permissions, ",") {
		p = strings.TrimSpace(p)
		switch p {
		case "":
		case loghttp.PermRead, loghttp.PermWrite, loghttp.PermAdmin:
			perms = append(perms, p)
		default:
			return fmt.Errorf("token: unknown permission %q; the permissions are %s, %s and %s", p, loghttp.PermRead, loghttp.PermWrite, loghttp.PermAdmin)
		}
	}
	secret, err := m.secret()
	if err != nil {
		return err
	}
	tok, err := jwtauth.Mint(secret, jwtauth.Grant{Tenant: m.Token.Tenant, Permissions: perms, Subject: m.Token.Subject,
		TTL: m.Token.TTL, Issuer: c.JWTIssuer, Audience: c.JWTAudience})
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	_, err = fmt.Fprintln(m.Stdout, tok)
	return err
}

// openStore opens the database: served through the database URL, migrated
// (and the purge run) through the admin URL when there is one.
func (m *Main) openStore(ctx context.Context) (*bunstore.Store, error) {
	c := &m.Config
	keep, max := c.retentionPolicy()
	o := &bunstore.Options{Logger: m.logger(), AdminURL: c.AdminDatabaseURL, Retention: keep, MaxRetention: max}
	if m.metrics != nil {
		o.OnError = m.metrics.StoreError
	}
	st, err := bunstore.Open(ctx, c.DatabaseURL, o)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redact(c.DatabaseURL), err)
	}
	return st, nil
}

// checkRole warns when logsd serves as a role that could switch the
// immutability of the log off, and reports whether this process may run
// the retention purge.
func (m *Main) checkRole(ctx context.Context) (purge bool, err error) {
	p, err := m.store.Privilege(ctx)
	if err != nil {
		return false, err
	}
	if p != "" {
		m.logger().Warn("logsd: serving as a PostgreSQL "+p+", which can switch the immutability of the log off; "+
			"serve as an application role and give the owner's URL in LOGSD_ADMIN_DATABASE_URL (README: Database roles)", "role", p)
	}
	if p == "" && m.store.Dialect() == "pg" && m.Config.AdminDatabaseURL == "" {
		m.logger().Warn("logsd: the serving role may not drop partitions, so this process does not purge old entries; " +
			"give LOGSD_ADMIN_DATABASE_URL, or run logsd retention as the owner")
		return false, nil
	}
	return true, nil
}

// migrate brings the database schema up to date.
func (m *Main) migrate(ctx context.Context) error {
	st, err := m.openStore(ctx)
	if err != nil {
		return err
	}
	m.logger().Info("logsd: database is up to date", "database", redact(m.Config.DatabaseURL))
	return st.Close()
}

// purge runs the retention purge once.
func (m *Main) purge(ctx context.Context) error {
	st, err := m.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := logstore.NewRetention(st, &logstore.RetentionOptions{Logger: m.logger()}).Purge(ctx)
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	m.logger().Info("logsd: retention purge done", "removed", n)
	return nil
}

// publicURL is the default public URL for a listening address.
func publicURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// redact hides the secrets of a database or bucket URL: the password of
// its user, and query parameters that name a password, secret, token or
// key (pgx reads password and sslpassword from the query too).
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			lk := strings.ToLower(k)
			for _, w := range []string{"password", "secret", "token", "key"} {
				if strings.Contains(lk, w) {
					q[k] = []string{"xxxxx"}
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-:=+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return fmt.Sprintf("logsd %s (%s %s/%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
