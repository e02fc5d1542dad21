package main

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/ithbat/logs/internal/secrets"
	"github.com/ithbat/logs/logstream"
)

// openStream starts the live stream's Broadcaster: event ids and tickets
// sealed with the stream key, tickets spent in a table of the database (so
// once across replicas), the limits of the configuration.
func (m *Main) openStream(ctx context.Context) error {
	c := &m.Config
	key, err := m.streamKey()
	if err != nil {
		return err
	}
	m.stream, err = logstream.New(m.store, &logstream.Options{
		Logger:              m.logger(),
		Key:                 key,
		Ledger:              m.store,
		TicketTTL:           c.StreamTicketTTL,
		MaxStreams:          c.StreamMax,
		MaxStreamsPerTenant: c.StreamMaxPerTenant,
		MaxDuration:         c.StreamMaxDuration,
		Poll:                c.StreamPoll,
		SSE:                 logstream.SSEOptions{Heartbeat: c.StreamHeartbeat},
	})
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	return nil
}

// streamKey is the key that seals event ids and tickets: LOGSD_STREAM_KEY,
// else one derived from the HS256 JWT secret (configured, or the one in
// the data folder). With only a JWKS there is no secret to share: a random
// key is made for this process, so event ids and tickets work on this
// replica until it restarts (a client whose id is refused starts again
// from now).
func (m *Main) streamKey() ([]byte, error) {
	c := &m.Config
	switch {
	case c.StreamKey != "":
		if len(c.StreamKey) < logstream.MinKeyLen {
			return nil, fmt.Errorf("LOGSD_STREAM_KEY (--stream-key) has %d bytes; at least %d are required", len(c.StreamKey), logstream.MinKeyLen)
		}
		return []byte(c.StreamKey), nil
	case c.hs256():
		s, err := m.secret()
		if err != nil {
			return nil, fmt.Errorf("stream key: %w", err)
		}
		return secrets.Derive(s, "logsd stream key", 32), nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("stream key: %w", err)
	}
	m.logger().Warn("logsd: stream event ids and tickets are sealed with a key of this process only; " +
		"set LOGSD_STREAM_KEY (the same on every replica) so that clients resume on any replica and after restarts")
	return b[:], nil
}

// closeStream ends every stream with `event: end` (reason shutdown) and
// stops the tailer. It runs before the HTTP server waits for its requests.
func (m *Main) closeStream() error {
	if m.stream == nil {
		return nil
	}
	err := m.stream.Close()
	m.stream = nil
	return err
}
