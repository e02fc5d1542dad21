package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/ithbat/logs/logconsume"
	"github.com/ithbat/logs/logsink"
)

// openLogStreams starts the delivery of the tenants' log streams: a
// durable consumer per stream, run by one replica at a time, with the
// guard, the limits and the buckets of the configuration. Webhook secrets
// are encrypted in the database with LOGSD_LOG_STREAMS_KEY, else a key
// derived from the JWT secret; with only a JWKS and no key they are kept
// as they are (a key of this process only would lose them at a restart).
func (m *Main) openLogStreams() error {
	c := &m.Config
	o := &logsink.Options{
		Guard:        &logsink.Guard{AllowPrivate: c.LogStreamsAllowPrivate},
		PauseAfter:   c.LogStreamsPauseAfter,
		Timeout:      c.LogStreamsTimeout,
		MaxPerTenant: c.LogStreamsMaxPerTenant,
		Settings:     m.store,
		Consume:      logconsume.Options{Lease: c.LogStreamsLease},
		Logger:       m.logger(),
	}
	for _, b := range strings.Split(c.LogStreamsBuckets, ",") {
		if b = strings.TrimSpace(b); b != "" {
			if u, err := url.Parse(strings.ReplaceAll(b, "{tenant}", "t")); err != nil || u.Scheme == "" {
				return fmt.Errorf("--log-streams-buckets (LOGSD_LOG_STREAMS_BUCKETS): %q is not a bucket URL such as s3://bucket/{tenant}/?region=...", b)
			}
			o.Buckets = append(o.Buckets, b)
		}
	}
	if c.LogStreamsKey != "" || c.hs256() {
		key, err := m.derivedKey(c.LogStreamsKey, "log-streams-key", 16, "logsd log streams key", "")
		if err != nil {
			return fmt.Errorf("log streams key: %w", err)
		}
		o.SealSecret, o.OpenSecret = logsink.SecretSealer(key)
	} else {
		m.logger().Warn("logsd: webhook signing secrets are stored unencrypted; set LOGSD_LOG_STREAMS_KEY (the same on every replica)")
	}
	if c.LogStreamsAllowPrivate {
		m.logger().Warn("logsd: log streams may reach private and loopback addresses (LOGSD_LOG_STREAMS_ALLOW_PRIVATE)")
	}
	m.sinks = logsink.New(m.store, m.store, m.store, o)
	m.sinks.Start()
	return nil
}
