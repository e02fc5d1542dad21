package logsink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logconsume"
	"github.com/ithbat/logs/logstore"
)

// Defaults and limits of [Options] and of a stream's configuration.
const (
	DefaultPauseAfter   = 24 * time.Hour
	DefaultTimeout      = 10 * time.Second
	DefaultBatchSize    = 100
	MaxBatchSize        = 1000
	DefaultMaxPerTenant = 10
	DefaultSync         = 5 * time.Second
	// MaxDeliveryBytes bounds one request's body (one object): a batch
	// whose entries are larger goes in several, in order.
	MaxDeliveryBytes = 4 << 20
	// RotationGrace is how long the previous secret still signs after a
	// rotation, so that receivers can switch without losing a delivery.
	RotationGrace = 24 * time.Hour
)

// ConsumerPrefix starts the names of log streams' consumers.
const ConsumerPrefix = "logstream:"

// Options configure a Manager. Zero fields take the defaults named on
// them.
type Options struct {
	// Guard refuses outbound addresses. Nil: a Guard that refuses every
	// address that is not public.
	Guard *Guard
	// PauseAfter is how long a stream may fail without a success before
	// it is paused with the reason. Default DefaultPauseAfter.
	PauseAfter time.Duration
	// Timeout bounds one webhook request, redirects included. Default
	// DefaultTimeout.
	Timeout time.Duration
	// Buckets lists the bucket URLs that blob streams may write inside,
	// {tenant} standing for the tenant's id (see blob.go). None: no blob
	// streams.
	Buckets []string
	// OpenBucket opens a bucket URL. Default blob.OpenBucket.
	OpenBucket func(ctx context.Context, url string) (*blob.Bucket, error)
	// MaxPerTenant bounds a tenant's streams. Default DefaultMaxPerTenant.
	MaxPerTenant int
	// Sync is how often the set of streams is read again (changes made
	// through this Manager apply at once). Default DefaultSync.
	Sync time.Duration
	// Consume configures the consumers' runner: lease, poll, retries and
	// their backoff (logconsume.Options). Its Logger and Now default to
	// these.
	Consume logconsume.Options
	// Settings, when set, bounds a stream's startDate by the tenant's
	// retention.
	Settings logstore.Settings
	// SealSecret and OpenSecret, when set, transform a webhook secret
	// before it is stored and after it is read (encryption at rest).
	SealSecret, OpenSecret func(string) (string, error)
	// Logger receives delivery failures. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Manager keeps tenants' log streams and delivers them: one durable
// consumer per stream (package logconsume), run by any replica that has a
// Manager on the same database, one replica at a time per stream.
type Manager struct {
	store     logstore.Store
	streams   logstore.LogStreams
	consumers logstore.Consumers
	opts      Options
	log       *slog.Logger
	client    *http.Client
	runner    *logconsume.Runner

	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	buckets map[string]*blob.Bucket
	running map[string]int // consumer name -> its batch size
	counts  map[string]*Counts
}

// Counts are a stream's deliveries in this process (for metrics).
type Counts struct {
	Batches, Entries, Failures int64
}

// New returns a Manager of the log streams that streams keeps, delivering
// the entries of store with consumers' checkpoints (a bunstore.Store is
// all three). Start starts delivering.
func New(store logstore.Store, streams logstore.LogStreams, consumers logstore.Consumers, opts *Options) *Manager {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Guard == nil {
		o.Guard = &Guard{}
	}
	if o.PauseAfter <= 0 {
		o.PauseAfter = DefaultPauseAfter
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.OpenBucket == nil {
		o.OpenBucket = blob.OpenBucket
	}
	if o.MaxPerTenant <= 0 {
		o.MaxPerTenant = DefaultMaxPerTenant
	}
	if o.Sync <= 0 {
		o.Sync = DefaultSync
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	co := o.Consume
	if co.Logger == nil {
		co.Logger = o.Logger
	}
	if co.Now == nil {
		co.Now = o.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		store: store, streams: streams, consumers: consumers, opts: o, log: o.Logger,
		client: newClient(o.Guard, o.Timeout), runner: logconsume.New(store, consumers, &co),
		kick: make(chan struct{}, 1), ctx: ctx, cancel: cancel,
		buckets: map[string]*blob.Bucket{}, running: map[string]int{}, counts: map[string]*Counts{},
	}
}

func (m *Manager) now() time.Time { return m.opts.Now().UTC().Truncate(time.Microsecond) }

// Start starts the goroutine that runs a consumer for every stream that
// is not paused.
func (m *Manager) Start() {
	m.wg.Go(m.loop)
}

// Close stops delivering (a batch in progress finishes) and waits.
func (m *Manager) Close() error {
	m.cancel()
	m.wg.Wait()
	err := m.runner.Close()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.buckets {
		_ = b.Close()
	}
	m.buckets = map[string]*blob.Bucket{}
	return err
}

// Kick makes the Manager read the set of streams again at once.
func (m *Manager) Kick() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Manager) loop() {
	t := time.NewTicker(m.opts.Sync)
	defer t.Stop()
	for {
		if err := m.sync(m.ctx); err != nil && m.ctx.Err() == nil {
			m.log.Warn("logsink: read the log streams", "err", err)
		}
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		case <-m.kick:
		}
	}
}

// sync runs a consumer for each stream that is not paused, stops the
// others, and forgets the checkpoints of deleted streams.
func (m *Manager) sync(ctx context.Context) error {
	// The consumers first: a consumer is registered only once its stream
	// exists, so one that the later read of the streams lacks belongs to
	// a deleted stream (read the other way round, a stream created in
	// between would lose its fresh checkpoint, and deliver again from its
	// start).
	states, err := m.consumers.ConsumerStates(ctx)
	if err != nil {
		return err
	}
	all, err := m.streams.AllLogStreams(ctx)
	if err != nil {
		return err
	}
	want := map[string]logstore.LogStream{}
	exists := map[string]bool{}
	for _, ls := range all {
		exists[ConsumerPrefix+ls.ID] = true
		if ls.Status != logstore.StreamPaused {
			want[ConsumerPrefix+ls.ID] = ls
		}
	}
	m.mu.Lock()
	running := make(map[string]int, len(m.running))
	for n, b := range m.running {
		running[n] = b
	}
	m.mu.Unlock()
	for name, batch := range running {
		if ls, ok := want[name]; !ok || ls.BatchSize != batch {
			m.runner.Remove(name)
			m.mu.Lock()
			delete(m.running, name)
			m.mu.Unlock()
			delete(running, name)
		}
	}
	for name, ls := range want {
		if _, ok := running[name]; ok || ctx.Err() != nil {
			continue
		}
		if err := m.runner.Add(m.spec(ls)); err != nil {
			return err
		}
		m.mu.Lock()
		m.running[name] = ls.BatchSize
		m.mu.Unlock()
	}
	for _, st := range states {
		if strings.HasPrefix(st.Name, ConsumerPrefix) && !exists[st.Name] {
			if err := m.consumers.DeleteConsumer(ctx, st.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// errPaused is the Apply error of a stream paused meanwhile.
var errPaused = errors.New("logsink: the stream is paused")

// spec is the consumer of one stream. It reads the stream's row at every
// batch, so a change of filter, URL or secret applies from the next batch
// on, whichever replica made it.
func (m *Manager) spec(ls logstore.LogStream) logconsume.Spec {
	tenant, id := ls.TenantID, ls.ID
	return logconsume.Spec{
		Name: ConsumerPrefix + id, Tenant: tenant, Batch: ls.BatchSize,
		Start: func(ctx context.Context) (logstore.Cursor, error) {
			cur, err := m.streams.LogStream(ctx, tenant, id)
			if err != nil {
				return logstore.Cursor{}, err
			}
			if cur.Status == logstore.StreamPaused {
				m.Kick()
				return logstore.Cursor{}, errPaused
			}
			return cur.Start, nil
		},
		Apply: func(ctx context.Context, recs []logstore.Record) ([]logstore.Effect, error) {
			return m.apply(ctx, tenant, id, recs)
		},
	}
}

// apply delivers the entries of recs that the stream's filter selects,
// in cursor order, as one batch, and returns the effect that counts them
// with the checkpoint.
func (m *Manager) apply(ctx context.Context, tenant, id string, recs []logstore.Record) ([]logstore.Effect, error) {
	ls, err := m.streams.LogStream(ctx, tenant, id)
	if err != nil {
		if logs.Code(err) == logs.CodeNotFound {
			m.Kick()
		}
		return nil, err
	}
	if ls.Status == logstore.StreamPaused {
		m.Kick()
		return nil, errPaused
	}
	match := ls.Filter.Matcher()
	now := m.now()
	n := 0
	// One request (object) per batch, split where its body would pass
	// MaxDeliveryBytes. A part's name is the cursor of its first record
	// (the batch's first for the first part), so a batch delivered again
	// has the same parts.
	var body []byte
	parts, first, partFirst := 0, recs[0].Cursor, recs[0].Cursor
	flush := func(lastRec logstore.Cursor) error {
		if parts == 0 {
			return nil
		}
		var err error
		switch ls.Type {
		case TypeWebhook:
			body = append(body, "]}"...)
			err = m.postWebhook(ctx, &ls, messageID(ls.ID, partFirst, lastRec, body), body)
		case TypeBlob:
			err = m.putBlob(ctx, &ls, partFirst, body)
		default:
			err = fmt.Errorf("unknown type %q", ls.Type)
		}
		m.count(id, parts, err)
		body, parts = body[:0], 0
		return err
	}
	for i := range recs {
		e := &recs[i].Entry
		if !match.Match(*e) || (!ls.StartDate.IsZero() && e.CreatedAt.Before(ls.StartDate)) {
			continue
		}
		line, err := logs.AppendJSON(nil, e, nil)
		if err != nil {
			return nil, err
		}
		if parts > 0 && len(body)+len(line) > MaxDeliveryBytes {
			if err = flush(recs[i-1].Cursor); err != nil {
				return nil, m.failed(ctx, tenant, id, now, err)
			}
			partFirst = recs[i].Cursor
		}
		if parts == 0 {
			if n == 0 {
				partFirst = first
			}
			if ls.Type == TypeWebhook {
				body = append(body, `{"logs":[`...)
			}
		} else if ls.Type == TypeWebhook {
			body = append(body, ',')
		}
		body = append(body, line...)
		if ls.Type != TypeWebhook {
			body = append(body, '\n')
		}
		parts++
		n++
	}
	if err := flush(recs[len(recs)-1].Cursor); err != nil {
		return nil, m.failed(ctx, tenant, id, now, err)
	}
	return []logstore.Effect{logstore.LogStreamDelivered{Tenant: tenant, ID: id, N: int64(n), At: now}}, nil
}

// failed records a failed delivery on the stream (pausing it when it has
// failed long enough) and returns the error for the runner, which retries.
func (m *Manager) failed(ctx context.Context, tenant, id string, now time.Time, err error) error {
	reason := fmt.Sprintf("paused after failing for %s without a success; last error: %s", m.opts.PauseAfter, clip(err.Error(), 300))
	st, ferr := m.streams.LogStreamFailed(ctx, tenant, id, clip(err.Error(), 500), now, m.opts.PauseAfter, reason)
	if ferr != nil {
		m.log.Warn("logsink: record a failure", "stream", id, "err", ferr)
	}
	if st.Status == logstore.StreamPaused {
		m.log.Warn("logsink: paused a failing log stream", "tenant", tenant, "stream", id, "err", err)
		m.Kick()
	}
	return fmt.Errorf("logsink: stream %s: %w", id, err)
}

func (m *Manager) count(id string, n int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counts[id]
	if c == nil {
		c = &Counts{}
		m.counts[id] = c
	}
	if err != nil {
		c.Failures++
		return
	}
	c.Batches++
	c.Entries += int64(n)
}

// CountsOf returns the deliveries of stream id in this process.
func (m *Manager) CountsOf(id string) Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.counts[id]; c != nil {
		return *c
	}
	return Counts{}
}

func (m *Manager) openSecret(s string) (string, error) {
	if m.opts.OpenSecret == nil {
		return s, nil
	}
	out, err := m.opts.OpenSecret(s)
	if err != nil {
		return "", errors.New("the signing secret cannot be read (was the server's key changed?); rotate it")
	}
	return out, nil
}

func (m *Manager) sealSecret(s string) (string, error) {
	if m.opts.SealSecret == nil {
		return s, nil
	}
	return m.opts.SealSecret(s)
}
