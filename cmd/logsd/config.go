package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
)

// Config is the configuration of logsd. Each field is one line of
// Config.settings: a flag and its LOGSD_* twin.
type Config struct {
	Addr            string
	DataDir         string
	DatabaseURL     string
	BlobURL         string
	PublicURL       string
	JWTSecret       string
	JWKSURL         string
	JWTIssuer       string
	JWTAudience     string
	ShutdownTimeout time.Duration
	Retention       time.Duration // 0: DefaultRetention; negative: keep forever
	ExportWorkers   int
	ExportLease     time.Duration
	ExportRetention time.Duration
	ExportSecret    string

	StreamKey          string
	StreamMax          int
	StreamMaxPerTenant int
	StreamMaxDuration  time.Duration
	StreamHeartbeat    time.Duration
	StreamPoll         time.Duration
	StreamTicketTTL    time.Duration
}

// setting is a flag; its environment variable is LOGSD_ and the name in
// upper case with - as _ (data-dir: LOGSD_DATA_DIR).
type setting struct {
	name  string
	value flag.Value
	def   string
	usage string
}

// settings is the table of configuration. A new setting is a field of
// Config and a line here.
func (c *Config) settings() []setting {
	return []setting{
		{"addr", str(&c.Addr), "127.0.0.1:8080", "address to listen on, host:port"},
		{"data-dir", str(&c.DataDir), "./logsd-data", "folder of the embedded defaults: SQLite database, exports, generated JWT secret"},
		{"database-url", str(&c.DatabaseURL), "", "postgres://... for PostgreSQL, or sqlite:///path.db (default: SQLite file logs.db in the data folder)"},
		{"blob-url", str(&c.BlobURL), "", "bucket for exports: file:///..., s3://..., gs://..., azblob://... (default: file:// folder exports in the data folder)"},
		{"public-url", str(&c.PublicURL), "", "how clients reach this server, for links it hands out (default: http:// and the listening address)"},
		{"jwt-secret", str(&c.JWTSecret), "", "HS256 secret that tokens are signed with, at least 32 bytes (default: generated once into the data folder, file jwt-secret)"},
		{"jwks-url", str(&c.JWKSURL), "", "JWKS of an identity provider: RS/PS/ES/EdDSA tokens are verified with its keys"},
		{"jwt-issuer", str(&c.JWTIssuer), "", "when set, tokens must carry this iss claim (and logsd token sets it)"},
		{"jwt-audience", str(&c.JWTAudience), "", "when set, tokens must carry this aud claim (and logsd token sets it)"},
		{"shutdown-timeout", dur(&c.ShutdownTimeout), "10s", "how long a graceful shutdown waits for requests in flight"},
		{"retention", retentionValue{&c.Retention}, "", "how long log entries are kept, or off (default 2160h: 90 days); checked hourly"},
		{"export-workers", optInt{&c.ExportWorkers}, "", "export jobs this process runs at once (default 2)"},
		{"export-lease", optDur{&c.ExportLease}, "", "how long a job stays with a worker that stopped answering before another takes it up (default 30s)"},
		{"export-retention", optDur{&c.ExportRetention}, "", "how long export files are kept; then the job reports expired (default 24h)"},
		{"export-secret", str(&c.ExportSecret), "", "HMAC secret of download URLs for file:// buckets, at least 16 bytes, the same on every replica (default: the JWT secret)"},
		{"stream-key", str(&c.StreamKey), "", "secret that seals stream event ids and tickets, at least 16 bytes, the same on every replica (default: derived from the JWT secret)"},
		{"stream-max", optInt{&c.StreamMax}, "", "concurrent live streams of this process (default 2000)"},
		{"stream-max-per-tenant", optInt{&c.StreamMaxPerTenant}, "", "concurrent live streams of one tenant on this process (default 100)"},
		{"stream-max-duration", optDur{&c.StreamMaxDuration}, "", "a live stream ends after this long with event: end; the client resumes by its last event id (default 1h)"},
		{"stream-heartbeat", optDur{&c.StreamHeartbeat}, "", "a silent live stream gets a comment this often (default 15s)"},
		{"stream-poll", optDur{&c.StreamPoll}, "", "how often the stream's tailer reads the database besides its wake-ups (default 200ms)"},
		{"stream-ticket-ttl", optDur{&c.StreamTicketTTL}, "", "how long a stream ticket may wait to be used (default 1m)"},
	}
}

// envName is the environment twin of a flag.
func envName(flagName string) string {
	return "LOGSD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

type stringValue struct{ p *string }

func str(p *string) flag.Value           { return stringValue{p} }
func (v stringValue) Set(s string) error { *v.p = s; return nil }
func (v stringValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

type durationValue struct{ p *time.Duration }

func dur(p *time.Duration) flag.Value { return durationValue{p} }
func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("%q is not a duration such as 10s or 1m", s)
	}
	*v.p = d
	return nil
}
func (v durationValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

// load sets every setting from its default, then its environment variable.
func (c *Config) load(lookupEnv func(string) (string, bool)) error {
	for _, s := range c.settings() {
		if err := s.value.Set(s.def); err != nil {
			return fmt.Errorf("default of --%s: %w", s.name, err)
		}
		if v, ok := lookupEnv(envName(s.name)); ok && v != "" {
			if err := s.value.Set(v); err != nil {
				return fmt.Errorf("%s: %w", envName(s.name), err)
			}
		}
	}
	return nil
}

// register defines the settings as flags of fs.
func (c *Config) register(fs *flag.FlagSet) {
	for _, s := range c.settings() {
		fs.Var(s.value, s.name, s.usage)
	}
}

// resolve fills the defaults that derive from other settings.
func (c *Config) resolve() error {
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
	return nil
}

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
		fmt.Fprintf(w, "  --%-17s %-23s %s%s\n", s.name, envName(s.name), s.usage, def)
	}
}
