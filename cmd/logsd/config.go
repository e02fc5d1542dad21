package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore"
)

// Config is the configuration of logsd. Each field is one line of
// Config.settings: a flag and its LOGSD_* twin.
type Config struct {
	Addr             string
	DataDir          string
	DatabaseURL      string
	AdminDatabaseURL string
	BlobURL          string
	PublicURL        string
	JWTSecret        string
	JWKSURL          string
	JWTIssuer        string
	JWTAudience      string
	ShutdownTimeout  time.Duration
	Retention        time.Duration // 0: logstore.DefaultRetention; negative: keep forever
	RetentionMax     time.Duration // 0: Retention
	ExportWorkers    int
	ExportLease      time.Duration
	ExportRetention  time.Duration
	ExportSecret     string

	StreamKey          string
	StreamMax          int
	StreamMaxPerTenant int
	StreamMaxDuration  time.Duration
	StreamHeartbeat    time.Duration
	StreamPoll         time.Duration
	StreamTicketTTL    time.Duration

	Metrics         string
	metricsAccess   loghttp.MetricsAccess // Metrics, parsed by resolve
	LogFormat       string
	LogLevel        logLevel
	TenantRPS       int
	TenantBurst     int
	TenantIngestEPS int
	CORSOrigins     string
	Console         bool

	LogStreamsAllowPrivate bool
	LogStreamsPauseAfter   time.Duration
	LogStreamsTimeout      time.Duration
	LogStreamsBuckets      string
	LogStreamsMaxPerTenant int
	LogStreamsKey          string
	LogStreamsLease        time.Duration
	SigningKey             string
	CheckpointInterval     time.Duration
	CheckpointEntries      int
}

// setting is a flag; its environment variable is LOGSD_ and the name in
// upper case with - as _ (data-dir: LOGSD_DATA_DIR). ptr is a *string,
// *int, *bool or *time.Duration (a flag of the standard library's type), or a
// flag.Value. def is the default as the flag would read it; "" leaves the
// zero value, which for numbers means the library's default, named in
// usage.
type setting struct {
	name  string
	ptr   any
	def   string
	usage string
}

// settings is the table of configuration. A new setting is a field of
// Config and a line here.
func (c *Config) settings() []setting {
	return []setting{
		{"addr", &c.Addr, "127.0.0.1:8080", "address to listen on, host:port"},
		{"data-dir", &c.DataDir, "./logsd-data", "folder of the embedded defaults: SQLite database, exports, generated JWT secret"},
		{"database-url", &c.DatabaseURL, "", "postgres://... for PostgreSQL, or sqlite:///path.db (default: SQLite file logs.db in the data folder)"},
		{"admin-database-url", &c.AdminDatabaseURL, "", "PostgreSQL URL of the role that owns the schema: migrations and the retention purge run with it, and the database URL may then be a role that can only insert and read entries (default: the database URL does both)"},
		{"blob-url", &c.BlobURL, "", "bucket for exports: file:///..., s3://..., gs://..., azblob://... (default: file:// folder exports in the data folder)"},
		{"public-url", &c.PublicURL, "", "how clients reach this server, for links it hands out (default: http:// and the listening address)"},
		{"jwt-secret", &c.JWTSecret, "", "HS256 secret that tokens are signed with, at least 32 bytes (default: generated once into the data folder, file jwt-secret)"},
		{"jwks-url", &c.JWKSURL, "", "JWKS of an identity provider: RS/PS/ES/EdDSA tokens are verified with its keys"},
		{"jwt-issuer", &c.JWTIssuer, "", "when set, tokens must carry this iss claim (and logsd token sets it)"},
		{"jwt-audience", &c.JWTAudience, "", "when set, tokens must carry this aud claim (and logsd token sets it)"},
		{"shutdown-timeout", &c.ShutdownTimeout, "10s", "how long a graceful shutdown waits for requests in flight"},
		{"retention", retentionValue{&c.Retention}, "", "how long log entries are kept unless their tenant sets its own, or off (default 2160h: 90 days); purged hourly"},
		{"retention-max", retentionValue{&c.RetentionMax}, "", "the longest retention a tenant may set for itself (PATCH /api/v1/logs/settings), or off for no limit (default: the retention)"},
		{"export-workers", &c.ExportWorkers, "", "export jobs this process runs at once (default 2)"},
		{"export-lease", &c.ExportLease, "", "how long a job stays with a worker that stopped answering before another takes it up (default 30s)"},
		{"export-retention", &c.ExportRetention, "", "how long export files are kept; then the job reports expired (default 24h)"},
		{"export-secret", &c.ExportSecret, "", "HMAC secret of download URLs for file:// buckets, at least 16 bytes, the same on every replica (default: the JWT secret)"},
		{"stream-key", &c.StreamKey, "", "secret that seals stream event ids and tickets, at least 16 bytes, the same on every replica (default: derived from the JWT secret)"},
		{"stream-max", &c.StreamMax, "", "concurrent live streams of this process (default 2000)"},
		{"stream-max-per-tenant", &c.StreamMaxPerTenant, "", "concurrent live streams of one tenant on this process (default 100)"},
		{"stream-max-duration", &c.StreamMaxDuration, "", "a live stream ends after this long with event: end; the client resumes by its last event id (default 1h)"},
		{"stream-heartbeat", &c.StreamHeartbeat, "", "a silent live stream gets a comment this often (default 15s)"},
		{"stream-poll", &c.StreamPoll, "", "how often the stream's tailer reads the database besides its wake-ups (default 200ms)"},
		{"stream-ticket-ttl", &c.StreamTicketTTL, "", "how long a stream ticket may wait to be used (default 1m)"},
		{"metrics", &c.Metrics, "", "who may read GET /metrics: off, open, or token:<secret> (a bearer token of its own, at least 16 bytes) (default: open to loopback addresses only)"},
		{"log-format", &c.LogFormat, "text", "format of logsd's own logs on stderr: text or json"},
		{"log-level", &c.LogLevel, "info", "least level of logsd's own logs: debug, info, warn or error (debug adds each refused request)"},
		{"tenant-rps", &c.TenantRPS, "100", "requests per second of one tenant, every authenticated request counted, or 0 for no limit; beyond it 429 rate_limited with Retry-After"},
		{"tenant-burst", &c.TenantBurst, "200", "requests one tenant may send at once above its rate"},
		{"cors-origins", &c.CORSOrigins, "", "comma-separated origins whose web pages may call the API from a browser (https://console.example.com), or * for any (default: none)"},
		{"tenant-ingest-eps", &c.TenantIngestEPS, "20000", "log entries per second one tenant may ingest (API and OTLP together), or 0 for no limit; one request may carry one second's worth"},
		{"console", &c.Console, "true", "serve the web console at / (false: / and /console/ answer 404)"},
		{"log-streams-allow-private", &c.LogStreamsAllowPrivate, "", "let log streams reach loopback, private and link-local addresses and plain http:// (only for receivers you run yourself: tests, a private network)"},
		{"log-streams-pause-after", &c.LogStreamsPauseAfter, "", "a log stream failing this long without a success is paused with the reason (default 24h)"},
		{"log-streams-timeout", &c.LogStreamsTimeout, "", "how long one webhook delivery may take, redirects included (default 10s)"},
		{"log-streams-buckets", &c.LogStreamsBuckets, "", "comma-separated bucket URLs that blob log streams may write inside, {tenant} standing for the tenant, such as s3://acme-logs/{tenant}/?region=eu-west-1 (default: none, no blob streams)"},
		{"log-streams-max-per-tenant", &c.LogStreamsMaxPerTenant, "", "log streams one tenant may have (default 10)"},
		{"log-streams-key", &c.LogStreamsKey, "", "secret that encrypts the webhook signing secrets in the database, at least 16 bytes, the same on every replica (default: derived from the JWT secret)"},
		{"log-streams-lease", &c.LogStreamsLease, "", "how long a log stream stays with a replica that stopped renewing before another takes it over; keep it well above the timeout, or a delivery that outlasts it may be made again by another replica meanwhile (default 30s)"},
		{"signing-key", &c.SigningKey, "", "Ed25519 key that signs the verifiable log's checkpoints, as a note signer key PRIVATE+KEY+name+hash+base64, the same on every replica (default: generated once into the data folder, file signing-key)"},
		{"checkpoint-interval", &c.CheckpointInterval, "", "the longest a tenant's grown tree waits for a signed checkpoint (default 1m)"},
		{"checkpoint-entries", &c.CheckpointEntries, "", "new entries of a tenant that make a signed checkpoint at once (default 10000)"},
	}
}

// envName is the environment twin of a flag.
func envName(flagName string) string {
	return "LOGSD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// register defines the settings as flags of fs, each with its current
// value as the default, so that a second flag set (a command's) starts
// where the first left off.
func (c *Config) register(fs *flag.FlagSet) {
	for _, s := range c.settings() {
		switch p := s.ptr.(type) {
		case *string:
			fs.StringVar(p, s.name, *p, s.usage)
		case *int:
			fs.IntVar(p, s.name, *p, s.usage)
		case *bool:
			fs.BoolVar(p, s.name, *p, s.usage)
		case *time.Duration:
			fs.DurationVar(p, s.name, *p, s.usage)
		case flag.Value:
			fs.Var(p, s.name, s.usage)
		}
	}
}

// load sets every setting from its default, then from its environment
// variable, with the flag's own parser.
func (c *Config) load(lookupEnv func(string) (string, bool)) error {
	*c = Config{}
	fs := flag.NewFlagSet("defaults", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.register(fs)
	for _, s := range c.settings() {
		if s.def != "" {
			if err := fs.Set(s.name, s.def); err != nil {
				return fmt.Errorf("default of --%s: %w", s.name, err)
			}
		}
		if v, ok := lookupEnv(envName(s.name)); ok && v != "" {
			if err := fs.Set(s.name, v); err != nil {
				return fmt.Errorf("%s: %q: %w", envName(s.name), v, err)
			}
		}
	}
	return nil
}

// resolve checks the settings and fills the defaults that derive from
// other settings.
func (c *Config) resolve() error {
	for _, s := range c.settings() {
		neg := false
		switch p := s.ptr.(type) {
		case *int:
			neg = *p < 0
		case *time.Duration:
			neg = *p < 0
		}
		if neg {
			return fmt.Errorf("--%s (%s) must not be negative", s.name, envName(s.name))
		}
	}
	if c.DataDir == "" {
		return errors.New("--data-dir (LOGSD_DATA_DIR) must not be empty")
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	c.DataDir = abs
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite://" + filepath.Join(abs, "logs.db")
	}
	if c.BlobURL == "" {
		c.BlobURL = "file://" + filepath.ToSlash(filepath.Join(abs, "exports"))
	}
	if keep, max := c.retentionPolicy(); keep > 0 && max > 0 && max < keep {
		return errors.New("--retention-max (LOGSD_RETENTION_MAX) is shorter than --retention (LOGSD_RETENTION)")
	}
	if c.metricsAccess, err = loghttp.ParseMetricsAccess(c.Metrics); err != nil {
		return fmt.Errorf("--metrics (LOGSD_METRICS): %w", err)
	}
	if _, err := c.corsOrigins(); err != nil {
		return err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format (LOGSD_LOG_FORMAT) must be text or json; got %q", c.LogFormat)
	}
	if c.AdminDatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres") {
		return errors.New("--admin-database-url (LOGSD_ADMIN_DATABASE_URL) is for PostgreSQL; the database URL is not")
	}
	return nil
}

// retentionPolicy is the store's policy of the configuration: the default
// (0: forever) and the maximum (negative: no limit), as
// bunstore.Options.Retention and MaxRetention take them.
func (c *Config) retentionPolicy() (keep, max time.Duration) {
	switch {
	case c.Retention == 0:
		keep = logstore.DefaultRetention
	case c.Retention > 0:
		keep = c.Retention
	}
	switch {
	case c.RetentionMax == 0:
		max = keep
	case c.RetentionMax > 0:
		max = c.RetentionMax
	default:
		max = -1
	}
	return keep, max
}

// limits are the rate limits of the configuration as loghttp takes them
// (0 there is the default, negative off).
func (c *Config) limits() loghttp.Limits {
	off := func(n int) int {
		if n == 0 {
			return -1
		}
		return n
	}
	return loghttp.Limits{RPS: float64(off(c.TenantRPS)), Burst: max(c.TenantBurst, 1), IngestEPS: float64(off(c.TenantIngestEPS))}
}

// corsOrigins are the origins of --cors-origins: each * or
// scheme://host[:port], nothing more.
func (c *Config) corsOrigins() ([]string, error) {
	var out []string
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o != "*" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
				return nil, fmt.Errorf("--cors-origins (LOGSD_CORS_ORIGINS): %q is not an origin such as https://console.example.com", o)
			}
			o = u.Scheme + "://" + u.Host
		}
		out = append(out, o)
	}
	return out, nil
}

// logLevel is the --log-level setting.
type logLevel struct{ l slog.Level }

func (v *logLevel) Set(s string) error {
	switch strings.ToLower(s) {
	case "debug":
		v.l = slog.LevelDebug
	case "info", "":
		v.l = slog.LevelInfo
	case "warn", "warning":
		v.l = slog.LevelWarn
	case "error":
		v.l = slog.LevelError
	default:
		return fmt.Errorf("%q is not a level: debug, info, warn or error", s)
	}
	return nil
}

func (v *logLevel) String() string {
	if v == nil {
		return "info"
	}
	return strings.ToLower(v.l.String())
}

func (v *logLevel) level() slog.Level { return v.l }

// embeddedDB reports whether the database is the default SQLite file.
func (c *Config) embeddedDB() bool {
	return c.DatabaseURL == "sqlite://"+filepath.Join(c.DataDir, "logs.db")
}

// hs256 reports whether logsd has an HS256 secret (configured, or the one
// in the data folder): always, unless only a JWKS is configured.
func (c *Config) hs256() bool { return c.JWTSecret != "" || c.JWKSURL == "" }

// writeSettings prints the settings table for usage.
func (c *Config) writeSettings(w io.Writer) {
	for _, s := range c.settings() {
		def := ""
		if s.def != "" {
			def = " (default " + s.def + ")"
		}
		fmt.Fprintf(w, "  --%-20s %-26s %s%s\n", s.name, envName(s.name), s.usage, def)
	}
}

// retentionValue is the --retention setting: a duration of an hour or
// more, "" for the library's default, or "off" (stored as -1) to keep
// entries forever.
type retentionValue struct{ p *time.Duration }

func (v retentionValue) Set(s string) error {
	switch s {
	case "":
		*v.p = 0
		return nil
	case "off":
		*v.p = -1
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Hour {
		return fmt.Errorf("%q is not a duration of an hour or more (such as 720h), nor off", s)
	}
	*v.p = d
	return nil
}

func (v retentionValue) String() string {
	switch {
	case v.p == nil || *v.p == 0:
		return ""
	case *v.p < 0:
		return "off"
	}
	return v.p.String()
}
