package logstore

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultRetention is how long entries are kept unless configured: the API
// document's 90 days.
const DefaultRetention = 90 * 24 * time.Hour

// RetentionOptions configure a [Retention]. Zero fields take the defaults
// named on them.
type RetentionOptions struct {
	// Keep is how long entries are kept. Default DefaultRetention.
	Keep time.Duration
	// Every is how often the purge runs (it runs at Start too).
	// Default one hour.
	Every time.Duration
	// Logger receives a line per purge that removed entries and per
	// failure. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Retention purges a store's entries older than Options.Keep, at Start and
// then every Options.Every, until Close. How much a purge removes at once
// is the store's decision (whole months on PostgreSQL: see Store.Purge).
type Retention struct {
	store Store
	opts  RetentionOptions

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewRetention returns a Retention of store; Start runs it.
func NewRetention(store Store, opts *RetentionOptions) *Retention {
	r := &Retention{store: store}
	if opts != nil {
		r.opts = *opts
	}
	if r.opts.Keep <= 0 {
		r.opts.Keep = DefaultRetention
	}
	if r.opts.Every <= 0 {
		r.opts.Every = time.Hour
	}
	if r.opts.Logger == nil {
		r.opts.Logger = slog.Default()
	}
	if r.opts.Now == nil {
		r.opts.Now = time.Now
	}
	return r
}

// Purge runs one purge now and returns how many entries it removed (-1
// when the store does not say).
func (r *Retention) Purge(ctx context.Context) (int64, error) {
	before := r.opts.Now().Add(-r.opts.Keep)
	n, err := r.store.Purge(ctx, before)
	switch {
	case err != nil && ctx.Err() == nil:
		r.opts.Logger.Warn("logstore: retention purge failed; will retry", "err", err)
	case n != 0:
		r.opts.Logger.Info("logstore: retention purge", "removed", n, "before", before.UTC().Format(time.RFC3339))
	}
	return n, err
}

// Start runs the purge in a goroutine, now and then every Options.Every,
// until Close. A second Start does nothing.
func (r *Retention) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(r.opts.Every)
		defer t.Stop()
		for {
			_, _ = r.Purge(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the purges and waits for the one in progress.
func (r *Retention) Close() error {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}
