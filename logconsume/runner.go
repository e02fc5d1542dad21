package logconsume

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

// Spec is one durable consumer.
type Spec struct {
	// Name is the consumer's durable name: its checkpoint and lease are
	// stored under it.
	Name string
	// Tenant restricts the feed to one tenant's entries; "" reads them all.
	Tenant string
	// Start returns the cursor a new consumer starts after. Nil: the
	// beginning of the log.
	Start func(ctx context.Context) (logstore.Cursor, error)
	// Batch is the most entries one Apply gets. Default 1000.
	Batch int
	// Apply handles entries after the checkpoint, in cursor order, and
	// returns the effects to commit with the checkpoint that moves over
	// them (see the package doc). An error leaves the checkpoint where it
	// was.
	Apply func(ctx context.Context, recs []logstore.Record) ([]logstore.Effect, error)
	// Tick, when set, is called about every Every while this process
	// holds the consumer, before a batch and at the head, for work that
	// is due by time rather than by entries (the verifiable log signs its
	// checkpoints so). The effects it returns are committed with the next
	// move of the checkpoint, or on their own at the head; what it does
	// outside the database it does itself, at least once. An error is
	// handled like Apply's.
	Tick func(ctx context.Context) ([]logstore.Effect, error)
	// Every is the period of Tick. Default 1s.
	Every time.Duration
}

// Options configure a Runner. Zero fields take the defaults named on them.
type Options struct {
	// Lease is how long a consumer stays with a process that stopped
	// renewing it. Default 30s.
	Lease time.Duration
	// Poll is how often a consumer at the head reads the store without a
	// wake-up, and how often a consumer held by another process is
	// checked. Default 1s.
	Poll time.Duration
	// Settle is how long a consumer waits after a wake-up, so that a burst
	// of appends makes one batch. Default 20ms.
	Settle time.Duration
	// Retry and MaxRetry bound the backoff after a failed Apply or store
	// error. Defaults 100ms and 30s.
	Retry, MaxRetry time.Duration
	// Logger receives failures. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock of leases. Default time.Now.
	Now func() time.Time
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Lease <= 0 {
		r.Lease = 30 * time.Second
	}
	if r.Poll <= 0 {
		r.Poll = time.Second
	}
	if r.Settle <= 0 {
		r.Settle = 20 * time.Millisecond
	}
	if r.Retry <= 0 {
		r.Retry = 100 * time.Millisecond
	}
	if r.MaxRetry <= 0 {
		r.MaxRetry = 30 * time.Second
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	return r
}

// Runner runs durable consumers. Create it with New; Add specs; Close.
type Runner struct {
	store     logstore.Store
	consumers logstore.Consumers
	opts      Options
	log       *slog.Logger
	owner     string // this process's lease owner id

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	running map[string]*running
	wg      sync.WaitGroup
	watchOn bool
}

type running struct {
	spec   Spec
	cancel context.CancelFunc
	wake   chan struct{} // capacity 1
	done   chan struct{}
}

// New returns a Runner of consumers of store, whose checkpoints and leases
// consumers keeps (a bunstore.Store is both).
func New(store logstore.Store, consumers logstore.Consumers, opts *Options) *Runner {
	o := opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{
		store: store, consumers: consumers, opts: o, log: o.Logger,
		owner: uuid.NewString(), ctx: ctx, cancel: cancel, running: map[string]*running{},
	}
}

// Add starts running spec; it runs until Remove or Close.
func (r *Runner) Add(spec Spec) error {
	if spec.Name == "" || spec.Apply == nil {
		return fmt.Errorf("logconsume: a spec needs a name and Apply: %w", logs.ErrInvalid)
	}
	if spec.Batch <= 0 {
		spec.Batch = 1000
	}
	if spec.Every <= 0 {
		spec.Every = time.Second
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("logconsume: the runner is closed: %w", logs.ErrUnavailable)
	}
	if _, ok := r.running[spec.Name]; ok {
		return fmt.Errorf("logconsume: consumer %q runs already: %w", spec.Name, logs.ErrInvalid)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	c := &running{spec: spec, cancel: cancel, wake: make(chan struct{}, 1), done: make(chan struct{})}
	r.running[spec.Name] = c
	if !r.watchOn {
		r.watchOn = true
		r.wg.Go(r.watch)
	}
	r.wg.Go(func() {
		defer close(c.done)
		r.run(ctx, c)
	})
	return nil
}

// Remove stops running consumer name in this process (its checkpoint stays:
// DeleteConsumer of the store forgets it) and waits for it to stop.
func (r *Runner) Remove(name string) {
	r.mu.Lock()
	c, ok := r.running[name]
	delete(r.running, name)
	r.mu.Unlock()
	if ok {
		c.cancel()
		<-c.done
	}
}

// Owner is the id this Runner holds leases under.
func (r *Runner) Owner() string { return r.owner }

// Names returns the consumers running here.
func (r *Runner) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.running))
	for n := range r.running {
		out = append(out, n)
	}
	return out
}

// Close stops every consumer, gives their leases back and waits.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	return nil
}

// watch fans the store's wake-ups out to the consumers.
func (r *Runner) watch() {
	for range r.store.Watch(r.ctx) {
		r.mu.Lock()
		for _, c := range r.running {
			select {
			case c.wake <- struct{}{}:
			default:
			}
		}
		r.mu.Unlock()
	}
}

// run is one consumer's loop: hold the lease, apply batches.
func (r *Runner) run(ctx context.Context, c *running) {
	name := c.spec.Name
	log := r.log.With("consumer", name)
	defer func() {
		// Give the lease back for another process to take at once.
		bctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.consumers.ReleaseConsumer(bctx, name, r.owner); err != nil {
			log.Warn("logconsume: release the lease", "err", err)
		}
	}()
	backoff := r.opts.Retry
	fail := func(what string, err error) bool {
		if ctx.Err() != nil {
			return false
		}
		log.Warn("logconsume: "+what+"; will retry", "err", err, "in", backoff)
		if !sleep(ctx, jitter(backoff)) {
			return false
		}
		backoff = min(2*backoff, r.opts.MaxRetry)
		return true
	}
	var retry []logstore.Record // the batch whose Apply failed, handed out again as it was
	for ctx.Err() == nil {
		start := logstore.Cursor{}
		if c.spec.Start != nil {
			var err error
			if start, err = c.spec.Start(ctx); err != nil {
				if !fail("start", err) {
					return
				}
				continue
			}
		}
		now := r.opts.Now()
		st, held, err := r.consumers.ClaimConsumer(ctx, name, r.owner, start, now, now.Add(r.opts.Lease))
		if err != nil {
			if !fail("claim", err) {
				return
			}
			continue
		}
		if !held {
			// Another process has it: look again when its lease may end.
			wait := min(max(st.LeaseUntil.Sub(now), r.opts.Poll), r.opts.Lease)
			if !sleep(ctx, jitter(wait)) {
				return
			}
			continue
		}
		renewAt := now.Add(r.opts.Lease / 3)
		cp := st.Checkpoint
		lastHead := st.HeadAt
		var nextTick time.Time // the first tick comes with the lease
		for ctx.Err() == nil && r.opts.Now().Before(renewAt) {
			recs := retry
			if len(recs) == 0 || !cp.Less(recs[0].Cursor) {
				// Not a retry, or one that the checkpoint moved past (another
				// owner applied it meanwhile): read on from the checkpoint.
				retry = nil
				var err error
				if recs, err = r.store.After(ctx, c.spec.Tenant, cp, c.spec.Batch); err != nil {
					if !fail("read the entries", err) {
						return
					}
					continue
				}
			}
			var ticked []logstore.Effect
			if c.spec.Tick != nil && !r.opts.Now().Before(nextTick) {
				wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.Lease)
				var terr error
				ticked, terr = c.spec.Tick(wctx)
				cancel()
				if terr != nil {
					if !fail("tick", terr) {
						return
					}
					continue
				}
				nextTick = r.opts.Now().Add(c.spec.Every)
			}
			if len(recs) == 0 {
				if len(ticked) > 0 {
					now := r.opts.Now()
					if ok, err := r.consumers.AdvanceConsumer(ctx, name, r.owner, cp, cp, now, ticked...); err != nil || !ok {
						if err != nil && !fail("commit a tick", err) {
							return
						}
						nextTick = time.Time{}
						break
					}
					lastHead = now
				}
				if now := r.opts.Now(); now.Sub(lastHead) > 5*time.Second {
					// At the head: say so (the lag is measured from it).
					if ok, err := r.consumers.AdvanceConsumer(ctx, name, r.owner, cp, cp, now); err != nil || !ok {
						break
					}
					lastHead = now
				}
				r.idle(ctx, c, renewAt)
				continue
			}
			// A batch begun is finished, also when Close comes meanwhile:
			// its effects and its checkpoint go together (bounded by the
			// lease, which ends the owner's right anyway).
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.Lease)
			effects, err := c.spec.Apply(wctx, recs)
			if err != nil {
				cancel()
				retry = recs // the same batch again, not a longer one
				nextTick = time.Time{}
				if !fail("apply a batch", err) {
					return
				}
				continue
			}
			retry = nil
			to := recs[len(recs)-1].Cursor
			ok, err := r.consumers.AdvanceConsumer(wctx, name, r.owner, cp, to, r.opts.Now(), append(ticked, effects...)...)
			cancel()
			for err != nil {
				// Advance again, not Apply again: the batch took effect (a
				// webhook was called). The advance moves the checkpoint from
				// cp only, so one that did commit before its error makes
				// this one report false, which is the lost lease below. The
				// tick's effects go with it.
				if !fail("advance the checkpoint", err) {
					return // the batch is handed out again by the next owner
				}
				actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.Lease)
				ok, err = r.consumers.AdvanceConsumer(actx, name, r.owner, cp, to, r.opts.Now(), append(ticked, effects...)...)
				cancel()
			}
			if !ok {
				log.Info("logconsume: lost the lease; claiming again")
				break
			}
			cp = to
			backoff = r.opts.Retry
		}
	}
}

// idle waits for a wake-up (then Settle more), Poll, or the renewal.
func (r *Runner) idle(ctx context.Context, c *running, renewAt time.Time) {
	wait := min(r.opts.Poll, max(time.Until(renewAt), time.Millisecond))
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-c.wake:
		sleep(ctx, r.opts.Settle)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// jitter returns d plus up to a fifth of it, so that replicas spread out.
func jitter(d time.Duration) time.Duration { return d + rand.N(d/5+1) }

// Lag is how far a consumer is behind the head of the log.
type Lag struct {
	Name string
	// Entries is the number of entries beyond the checkpoint (counted up
	// to 1,000,000).
	Entries int64
	// Seconds is how long ago the consumer was last at the head, when it
	// is behind; 0 when it is at the head.
	Seconds float64
	// Owner is the process holding the consumer now ("" for none).
	Owner string
}

// Lag returns the lag of the consumers running here (of all consumers of
// the store when all is set).
func (r *Runner) Lag(ctx context.Context, all bool) ([]Lag, error) {
	states, err := r.consumers.ConsumerStates(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	specs := map[string]Spec{}
	for n, c := range r.running {
		specs[n] = c.spec
	}
	r.mu.Unlock()
	now := r.opts.Now()
	var out []Lag
	for _, st := range states {
		spec, here := specs[st.Name]
		if !here && !all {
			continue
		}
		l, err := lagOf(ctx, r.consumers, st, spec.Tenant, now)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// LagOf returns the lag at now of the consumer name of tenant's entries
// ("" for all), wherever it runs; found is false when no consumer of that
// name was registered yet (it has not started: no lag to speak of).
func LagOf(ctx context.Context, consumers logstore.Consumers, name, tenant string, now time.Time) (l Lag, found bool, err error) {
	states, err := consumers.ConsumerStates(ctx)
	if err != nil {
		return Lag{}, false, err
	}
	for _, st := range states {
		if st.Name == name {
			l, err := lagOf(ctx, consumers, st, tenant, now)
			return l, err == nil, err
		}
	}
	return Lag{Name: name}, false, nil
}

func lagOf(ctx context.Context, consumers logstore.Consumers, st logstore.ConsumerState, tenant string, now time.Time) (Lag, error) {
	n, err := consumers.CountAfter(ctx, tenant, st.Checkpoint, 1_000_000)
	if err != nil {
		return Lag{}, err
	}
	l := Lag{Name: st.Name, Entries: n}
	if st.LeaseUntil.After(now) {
		l.Owner = st.Owner
	}
	if n > 0 {
		since := st.HeadAt
		if since.IsZero() {
			since = st.AdvancedAt
		}
		if !since.IsZero() {
			l.Seconds = max(now.Sub(since).Seconds(), 0)
		}
	}
	return l, nil
}

// Rollups is the spec of the consumer that keeps the store's rollups:
// the counts behind exact totals and the stats.
func Rollups() Spec {
	return Spec{
		Name:  logstore.RollupConsumer,
		Batch: 5000,
		Apply: func(_ context.Context, recs []logstore.Record) ([]logstore.Effect, error) {
			return []logstore.Effect{logstore.RollupEffect{Deltas: logstore.RollupDeltas(recs)}}, nil
		},
	}
}
