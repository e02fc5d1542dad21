package bunstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// Watch implements logstore.Store. On PostgreSQL the first call starts one
// LISTEN goroutine for the store; it reconnects after errors and ends with
// Close.
func (s *Store) Watch(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		close(ch)
		return ch
	default:
	}
	s.watchers[ch] = struct{}{}
	if s.pg && !s.listenOn {
		s.listenOn = true
		s.wg.Add(1)
		go s.listen()
	}
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
		case <-s.bg.Done():
		}
		s.mu.Lock()
		delete(s.watchers, ch)
		close(ch)
		s.mu.Unlock()
	}()
	return ch
}

// poke wakes every watcher without blocking.
func (s *Store) poke() {
	s.mu.Lock()
	for ch := range s.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
}

// listen holds one connection with LISTEN log_entries and pokes the
// watchers on every notification. After a connection error it pokes too
// (notifications may have been missed) and retries with backoff.
func (s *Store) listen() {
	defer s.wg.Done()
	backoff := 100 * time.Millisecond
	for s.bg.Err() == nil {
		err := s.listenOnce(s.bg)
		if s.bg.Err() != nil {
			return
		}
		s.log.Warn("bunstore: LISTEN connection lost; reconnecting", "err", err, "in", backoff)
		s.poke()
		select {
		case <-s.bg.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context) error {
	conn, err := s.db.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("bunstore: LISTEN needs the pgx driver, have %T", dc)
		}
		pc := c.Conn()
		if _, err := pc.Exec(ctx, "LISTEN log_entries"); err != nil {
			return err
		}
		s.poke() // anything appended while we were not listening
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				if ctx.Err() == nil {
					return err
				}
				// Closing: the connection is mid-wait; do not return it to the pool.
				return driver.ErrBadConn
			}
			s.poke()
		}
	})
}
