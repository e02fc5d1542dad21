package main

import (
	"context"
	"fmt"

	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstream"
)

// openStream starts the live stream's Broadcaster: event ids and tickets
// sealed with the stream key (LOGSD_STREAM_KEY, else derived from the JWT
// secret), tickets spent in the store (so once across replicas), the
// limits of the configuration; and the list's cursors, sealed with a key
// derived from the stream key.
func (m *Main) openStream(ctx context.Context) error {
	c := &m.Config
	key, err := m.derivedKey(c.StreamKey, "stream-key", logstream.MinKeyLen, "logsd stream key",
		"logsd: stream event ids and tickets are sealed with a key of this process only; "+
			"set LOGSD_STREAM_KEY (the same on every replica) so that clients resume on any replica and after restarts")
	if err != nil {
		return fmt.Errorf("stream key: %w", err)
	}
	// The list's cursors are sealed with a key derived from the same one.
	if m.cursors, err = logquery.NewCursors(key); err != nil {
		return fmt.Errorf("cursor key: %w", err)
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
		OnEnd:               m.metrics.StreamEnded,
	})
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	return nil
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
