package bunstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ithbat/logs/logstore"
)

// Spent stream tickets live in logstream_tickets: the ticket id (its
// nonce) and when it expires, in Unix milliseconds. Rows of expired
// tickets are deleted about once a minute by SpendTicket itself.

// SpendTicket implements logstore.TicketLedger.
func (s *Store) SpendTicket(ctx context.Context, id string, expires time.Time) error {
	if id == "" || len(id) > 32 {
		return fmt.Errorf("bunstore: spend ticket: %w", errInvalid)
	}
	res, err := s.db.ExecContext(ctx, "INSERT INTO logstream_tickets (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
		id, expires.UnixMilli())
	if err != nil {
		return s.wrap("spend ticket", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap("spend ticket", err)
	}
	if n == 0 {
		return logstore.ErrSpent
	}
	now := s.opts.Now()
	s.mu.Lock()
	due := now.After(s.ticketSweep)
	if due {
		s.ticketSweep = now.Add(time.Minute)
	}
	s.mu.Unlock()
	if due {
		_, _ = s.db.ExecContext(ctx, "DELETE FROM logstream_tickets WHERE expires_at < ?", now.Add(-time.Minute).UnixMilli())
	}
	return nil
}
