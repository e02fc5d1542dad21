package logstore

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultRetention is how long logsd keeps entries unless configured: the
// API document's 90 days. A store keeps them forever unless told.
const DefaultRetention = 90 * 24 * time.Hour

// RetentionPolicy is how long a store keeps entries: Default for a tenant
// that set nothing (0: forever), Max the longest a tenant may set (0: no
// limit).
type RetentionPolicy struct {
	Default, Max time.Duration
}

// TenantSettings are what a tenant sets for itself (log:admin).
type TenantSettings struct {
	// RetentionDays is how many days the tenant's entries are kept; 0 for
	// the operator's default.
	RetentionDays int
}

// Settings keeps the tenants' settings and applies their retention.
//
// Entries older than a tenant's retention are not listed, counted,
// streamed or exported from the moment the retention applies to them
// (every read of the store clamps its range), are refused by Append
// (logs.ErrInvalid naming logs[i].createdAt), and are removed physically by
// PurgeExpired.
type Settings interface {
	// RetentionPolicy returns the operator's policy.
	RetentionPolicy() RetentionPolicy

	// TenantSettings returns tenant's settings (zero values for a tenant
	// that set nothing).
	TenantSettings(ctx context.Context, tenant string) (TenantSettings, error)

	// SetTenantSettings stores tenant's settings. A retention beyond the
	// policy's Max, or below one day, is an error wrapping logs.ErrInvalid
	// naming "retentionDays".
	SetTenantSettings(ctx context.Context, tenant string, s TenantSettings) error

	// Retention returns how long tenant's entries are kept (0: forever).
	Retention(ctx context.Context, tenant string) (time.Duration, error)

	// PurgeExpired removes the entries that the retention no longer keeps
	// at now (each tenant's own), as far as the database can do so cheaply
	// (whole days; whole partitions where every tenant's retention allows),
	// and returns how many it removed.
	PurgeExpired(ctx context.Context, now time.Time) (int64, error)
}

// RetentionOptions configure a [Retention]. Zero fields take the defaults
// named on them.
type RetentionOptions struct {
	// Every is how often the purge runs (it runs at Start too).
	// Default one hour.
	Every time.Duration
	// Logger receives a line per purge that removed entries and per
	// failure. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// OnPurge, when set, is told of every purge: how many entries it
	// removed, how long it took, and its error (for metrics).
	OnPurge func(removed int64, took time.Duration, err error)
}

// Retention runs a store's PurgeExpired at Start and then every
// Options.Every, until Close: entries past their tenant's retention are
// removed within about Every (plus the purge's own time) of expiring.
type Retention struct {
	store Settings
	opts  RetentionOptions

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewRetention returns a Retention of store; Start runs it.
func NewRetention(store Settings, opts *RetentionOptions) *Retention {
	r := &Retention{store: store}
	if opts != nil {
		r.opts = *opts
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

// Purge runs one purge now and returns how many entries it removed.
func (r *Retention) Purge(ctx context.Context) (int64, error) {
	start := time.Now()
	n, err := r.store.PurgeExpired(ctx, r.opts.Now())
	took := time.Since(start)
	switch {
	case err != nil && ctx.Err() == nil:
		r.opts.Logger.Warn("logstore: retention purge failed; will retry", "err", err, "removed", n)
	case n != 0:
		r.opts.Logger.Info("logstore: retention purge", "removed", n, "seconds", took.Seconds())
	default:
		r.opts.Logger.Debug("logstore: retention purge: nothing expired", "seconds", took.Seconds())
	}
	if r.opts.OnPurge != nil {
		r.opts.OnPurge(n, took, err)
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
