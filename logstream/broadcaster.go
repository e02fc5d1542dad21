package logstream

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

// Options configure a [Broadcaster]. A nil *Options, and every zero field,
// means the default named on the field.
type Options struct {
	// Logger receives the tailer's errors. Default: slog.Default().
	Logger *slog.Logger

	// OnEnd, when set, is told why each stream that ServeSSE served
	// ended: the reason of its event: end, or EndDisconnected (for
	// metrics). It must not block.
	OnEnd func(EndReason)

	// Key seals event ids and stream tickets ([MinKeyLen] bytes or more).
	// Every replica serving one API must have the same key. Default: a
	// random key, good for one process only (ids and tickets of another
	// process, or of a restarted one, are refused).
	Key []byte

	// Ledger records spent tickets. Default: a [MemoryLedger], which
	// makes a ticket single-use per process only; with several replicas
	// use the shared store's (a bunstore.Store is one).
	Ledger logstore.TicketLedger

	// TicketTTL is how long a ticket may wait before it is used.
	// Default: [DefaultTicketTTL].
	TicketTTL time.Duration

	// MaxStreams is the number of concurrent subscriptions in this
	// process, over every tenant. Default 2000.
	MaxStreams int

	// MaxStreamsPerTenant is the number of concurrent subscriptions of one
	// tenant in this process. Default 100.
	MaxStreamsPerTenant int

	// MaxDuration ends a subscription that lasted that long (the client
	// resumes by cursor). Default 1 hour; negative for no limit.
	MaxDuration time.Duration

	// Buffer is the number of events a subscription holds for its reader
	// before it falls back to reading the store itself. Default 256.
	Buffer int

	// BufferBytes bounds the JSON of the events a subscription holds, as
	// Buffer bounds their number. Default 1 MiB.
	BufferBytes int

	// Batch is the number of entries read from the store at once, by the
	// tailer and by a subscription catching up. Default 500.
	Batch int

	// Poll is how often the tailer reads the store while subscriptions
	// exist even without a wake-up from [logstore.Store.Watch] (entries
	// can pass the visibility watermark with no new append, and other
	// processes on SQLite cannot wake it). Default 200ms.
	Poll time.Duration

	// Recent is the number of entries the tailer keeps after handing them
	// out, so that a subscription that has caught up from the store can
	// join the live feed without reading the store again. Default 4096.
	Recent int

	// RecentBytes bounds the memory of those entries. Default 16 MiB.
	// They are dropped when the last subscription ends.
	RecentBytes int

	// SSE configures [ServeSSE] and [WriteEnd] for the subscriptions of
	// this Broadcaster when they are given no options of their own.
	SSE SSEOptions

	// Now is the clock of ticket expiry. Default time.Now.
	Now func() time.Time
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.TicketTTL <= 0 {
		r.TicketTTL = DefaultTicketTTL
	}
	if r.MaxStreams <= 0 {
		r.MaxStreams = 2000
	}
	if r.MaxStreamsPerTenant <= 0 {
		r.MaxStreamsPerTenant = 100
	}
	if r.MaxDuration == 0 {
		r.MaxDuration = time.Hour
	}
	if r.Buffer <= 0 {
		r.Buffer = 256
	}
	if r.Batch <= 0 {
		r.Batch = 500
	}
	if r.Poll <= 0 {
		r.Poll = 200 * time.Millisecond
	}
	if r.Recent <= 0 {
		r.Recent = 4096
	}
	if r.RecentBytes <= 0 {
		r.RecentBytes = 16 << 20
	}
	if r.BufferBytes <= 0 {
		r.BufferBytes = 1 << 20
	}
	return r
}

// Event is one entry as a subscription hands it out: the entry, its store
// cursor, its event id (the cursor sealed for the entry's tenant) and its
// JSON, exactly as logs.Entry marshals. Events are shared between
// subscriptions and must not be modified.
type Event struct {
	Cursor logstore.Cursor
	Entry  logs.Entry
	ID     string
	Data   []byte
}

// Broadcaster fans the entries of one store out to live subscriptions. One
// tailer goroutine reads every newly visible entry once and hands it to
// each matching subscription in memory.
type Broadcaster struct {
	store   logstore.Store
	opts    Options
	log     *slog.Logger
	sealer  *Sealer
	tickets *tickets

	ctx    context.Context // ends the tailer and shortens the streams' writes; canceled by Close
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{}  // wakes the tailer when the first subscription comes
	served sync.WaitGroup // streams that ServeSSE serves, for Close

	mu       sync.Mutex
	closed   bool
	byTenant map[string][]*Subscription
	n        int
	active   bool            // the tailer is reading: pos is current
	pos      logstore.Cursor // every entry up to pos was offered to live subscriptions
	recent   []*Event        // ring of the last entries read, all tenants
	rstart   int             // index of the oldest entry in recent
	rlen     int
	rbytes   int             // eventSize of the entries in recent
	rbase    logstore.Cursor // recent holds every entry in (rbase, pos]
}

// New returns a Broadcaster over store and starts its tailer, which stays
// idle while there are no subscriptions. Close stops it.
func New(store logstore.Store, opts *Options) (*Broadcaster, error) {
	o := opts.withDefaults()
	key := o.Key
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("logstream: key: %w: %w", logs.ErrInternal, err)
		}
	}
	sealer, err := NewSealer(key)
	if err != nil {
		return nil, err
	}
	ledger := o.Ledger
	if ledger == nil {
		ledger = NewMemoryLedger()
	}
	tk, err := newTickets(key, ledger, o.TicketTTL)
	if err != nil {
		return nil, err
	}
	if o.Now != nil {
		tk.now = o.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Broadcaster{
		store: store, opts: o, log: o.Logger, sealer: sealer, tickets: tk,
		ctx: ctx, cancel: cancel, done: make(chan struct{}), kick: make(chan struct{}, 1),
		byTenant: map[string][]*Subscription{},
		recent:   make([]*Event, o.Recent),
	}
	go b.run()
	return b, nil
}

// Sealer returns the sealer of event ids.
func (b *Broadcaster) Sealer() *Sealer { return b.sealer }

// HeadID returns the event id, for tenant, of the store's head: a stream
// resumed from it gets every entry that became visible about now or later.
// A client that must not miss what comes between now and its connection
// (a browser that first gets a ticket) starts from it.
func (b *Broadcaster) HeadID(ctx context.Context, tenant string) (string, error) {
	if err := logs.ValidateTenant("tenantId", tenant); err != nil {
		return "", err
	}
	head, err := b.store.Head(ctx)
	if err != nil {
		return "", fmt.Errorf("logstream: head: %w", err)
	}
	return b.sealer.Seal(tenant, head), nil
}

// SSEOptions returns Options.SSE, for [WriteEnd] and [ServeSSE].
func (b *Broadcaster) SSEOptions() *SSEOptions {
	o := b.opts.SSE
	return &o
}

// IssueTicket returns a new stream ticket for g.Tenant and g.Filter. A
// non-zero g.Until (the expiry of the credential the ticket was obtained
// with) is handed back by RedeemTicket, so that the stream can end then.
func (b *Broadcaster) IssueTicket(ctx context.Context, g Grant) (Ticket, error) {
	return b.tickets.issue(g)
}

// RedeemTicket verifies and spends a ticket, and returns what it grants:
// [Broadcaster.VerifyTicket] then [Broadcaster.SpendTicket].
func (b *Broadcaster) RedeemTicket(ctx context.Context, ticket string) (Grant, error) {
	v, err := b.tickets.verify(ticket)
	if err != nil {
		return Grant{}, err
	}
	if err := b.tickets.spend(ctx, v); err != nil {
		return Grant{}, err
	}
	return v.Grant, nil
}

// VerifyTicket checks a ticket's seal, expiry and filter without spending
// it, so that a request can be refused for another reason and leave the
// ticket usable. Any ticket that is malformed, altered or expired is one
// error wrapping logs.ErrUnauthenticated.
func (b *Broadcaster) VerifyTicket(ticket string) (VerifiedTicket, error) {
	return b.tickets.verify(ticket)
}

// OpenTicket checks a ticket with the event id a client resumes from
// (lastEventID, "" for none), as a stream request brings them:
//
//   - when lastEventID is an id of the stream this very ticket opened
//     (a browser's EventSource reconnecting by itself, with the same URL and
//     Last-Event-ID), the ticket is accepted, spent as it is, for as long as
//     the credential it was issued on is valid (see [MaxReconnect]), and
//     the result has Reconnect set: do not spend it again;
//   - otherwise it is a first use: the ticket must be unexpired, and is
//     spent with SpendTicket once nothing else refuses the request.
//
// It returns the cursor to resume after (nil without lastEventID). A
// lastEventID that is not an event id of the ticket's tenant is an error
// wrapping logs.ErrInvalid; a bad ticket is VerifyTicket's error.
func (b *Broadcaster) OpenTicket(ticket, lastEventID string) (VerifiedTicket, *logstore.Cursor, error) {
	v, err := b.tickets.open(ticket)
	if err != nil {
		return VerifiedTicket{}, nil, err
	}
	var after *logstore.Cursor
	if lastEventID != "" {
		c, bound, err := b.sealer.OpenTicket(v.Tenant, lastEventID)
		if err != nil {
			return VerifiedTicket{}, nil, err
		}
		after = &c
		v.Reconnect = bound == v.id
	}
	if v.Reconnect && !b.tickets.reconnectable(v) || !v.Reconnect && !b.tickets.valid(v) {
		return VerifiedTicket{}, nil, errBadTicket
	}
	return v, after, nil
}

// SpendTicket spends a ticket that VerifyTicket accepted; of concurrent
// calls for one ticket, and of calls on replicas sharing a [Ledger], one
// succeeds. A ticket spent before, or expired since, is the error of
// VerifyTicket (logs.ErrUnauthenticated); a ledger failure is
// logs.ErrUnavailable. A caller that starts a stream on the ticket
// subscribes first (the stream limits may refuse it) and spends last,
// closing the subscription when the spend fails.
func (b *Broadcaster) SpendTicket(ctx context.Context, v VerifiedTicket) error {
	return b.tickets.spend(ctx, v)
}

// Subscribe starts a subscription of tenant to the entries that match f.
// With after nil it starts at the live edge: it receives entries that
// become visible from about now on. With after set it first replays from
// the store every matching entry beyond that cursor, then continues live,
// with no gap and no duplicate.
//
// The subscription ends when ctx ends or Close is called (the caller must
// call Close), and by the Broadcaster (see [EndError]). When a limit on
// concurrent streams is reached, or the Broadcaster is closed, Subscribe
// returns an *EndError and no subscription.
func (b *Broadcaster) Subscribe(ctx context.Context, tenant string, f logquery.Filter, after *logstore.Cursor) (*Subscription, error) {
	if err := logs.ValidateTenant("tenantId", tenant); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	s := &Subscription{
		b: b, tenant: tenant, match: f.Matcher(), ready: make(chan struct{}, 1),
	}
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return nil, endError(EndShutdown)
	case b.n >= b.opts.MaxStreams:
		b.mu.Unlock()
		return nil, endError(EndStreamLimit)
	case len(b.byTenant[tenant]) >= b.opts.MaxStreamsPerTenant:
		b.mu.Unlock()
		return nil, endError(EndTenantStreamLimit)
	}
	needHead := false
	switch {
	case after != nil:
		s.cov, s.last = *after, *after
	case b.active:
		s.live = true
		s.floor, s.last = b.pos, b.pos
	default:
		needHead = true
	}
	b.byTenant[tenant] = append(b.byTenant[tenant], s)
	b.n++
	if b.n == 1 {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	b.mu.Unlock()

	if needHead {
		head, err := b.store.Head(ctx)
		if err != nil {
			b.remove(s)
			return nil, fmt.Errorf("logstream: subscribe: %w", err)
		}
		s.mu.Lock()
		s.cov, s.last = head, head
		s.mu.Unlock()
	}
	s.mu.Lock()
	if b.opts.MaxDuration > 0 {
		s.timer = time.AfterFunc(b.opts.MaxDuration, func() { s.end(EndMaxDuration) })
	}
	s.stopCtx = context.AfterFunc(ctx, func() { s.Close() })
	s.mu.Unlock()
	if !s.live {
		s.signal()
	}
	return s, nil
}

// remove takes s out of the broadcaster's registry; it is idempotent.
func (b *Broadcaster) remove(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	list := b.byTenant[s.tenant]
	for i, x := range list {
		if x == s {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
			b.n--
			if len(list) == 0 {
				delete(b.byTenant, s.tenant)
			} else {
				b.byTenant[s.tenant] = list
			}
			return
		}
	}
}

// Streams returns the number of subscriptions, over all tenants and of
// tenant.
func (b *Broadcaster) Streams(tenant string) (all, ofTenant int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n, len(b.byTenant[tenant])
}

// Close ends every subscription with [EndShutdown], refuses new ones, stops
// the tailer, and waits for the streams that [ServeSSE] serves to send their
// `event: end` and return (each write then waits 2 s at most, also one
// already waiting for a client that stopped reading). It does not close the
// store.
func (b *Broadcaster) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.done
		b.served.Wait()
		return nil
	}
	b.closed = true
	var all []*Subscription
	for _, list := range b.byTenant {
		all = append(all, list...)
	}
	b.mu.Unlock()
	b.cancel() // stops the tailer, and shortens the deadline of the streams' writes
	for _, s := range all {
		s.end(EndShutdown)
	}
	<-b.done
	b.served.Wait()
	return nil
}

// event returns the shared event of r, encoding it once.
func (b *Broadcaster) event(r logstore.Record) (*Event, error) {
	data, err := r.Entry.MarshalJSON() // as the list writes it (no HTML escaping)
	if err != nil {
		return nil, fmt.Errorf("logstream: encode entry %s: %w: %w", r.Entry.ID, logs.ErrInternal, err)
	}
	return &Event{Cursor: r.Cursor, Entry: r.Entry, ID: b.sealer.Seal(r.Entry.TenantID, r.Cursor), Data: data}, nil
}

// run is the tailer.
func (b *Broadcaster) run() {
	defer close(b.done)
	watch := b.store.Watch(b.ctx)
	poll := time.NewTimer(b.opts.Poll)
	defer poll.Stop()
	backoff := b.opts.Poll
	// After a wake-up the tailer reads again soon, at a doubling interval
	// up to Poll: an entry whose commit was announced may still be behind
	// the watermark, held by a transaction that announces nothing when it
	// ends (on PostgreSQL: any transaction of the cluster).
	var soon time.Duration
	wait := func(d time.Duration) bool {
		poll.Reset(d)
		select {
		case <-b.ctx.Done():
			return false
		case _, ok := <-watch:
			if !ok {
				watch = nil
			}
			soon = wakeRetry
		case <-b.kick:
			soon = wakeRetry
		case <-poll.C:
		}
		return true
	}
	for {
		b.mu.Lock()
		idle := b.n == 0
		if idle {
			b.active = false
			b.forgetAll()
		}
		active := b.active
		b.mu.Unlock()
		if idle {
			// Nothing to do until the first subscription; drain wake-ups.
			select {
			case <-b.ctx.Done():
				return
			case _, ok := <-watch:
				if !ok {
					watch = nil
				}
			case <-b.kick:
			}
			continue
		}
		if !active {
			if !b.activate() {
				if !wait(backoff) {
					return
				}
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			// Wake-ups were drained while idle: what they announced may
			// still be behind the watermark.
			soon = wakeRetry
			continue
		}
		b.mu.Lock()
		pos := b.pos
		b.mu.Unlock()
		recs, err := b.store.After(b.ctx, "", pos, b.opts.Batch)
		if err != nil {
			if b.ctx.Err() != nil {
				return
			}
			b.log.Warn("logstream: tailer: read the store", "err", err, "retry", backoff)
			if !wait(backoff) {
				return
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = b.opts.Poll
		if len(recs) > 0 {
			b.distribute(pos, recs)
		}
		if len(recs) == b.opts.Batch {
			continue // more is waiting
		}
		next := b.opts.Poll
		if soon > 0 {
			if len(recs) > 0 {
				soon = wakeRetry
			}
			if soon < b.opts.Poll {
				next = soon
				soon *= 2
			} else {
				soon = 0
			}
		}
		if !wait(next) {
			return
		}
	}
}

// wakeRetry is the first interval of the re-reads after a wake-up.
const wakeRetry = 5 * time.Millisecond

// activate moves the idle tailer to the store's head, unless a live
// subscription depends on its old position, and wakes the subscriptions
// that wait to join.
func (b *Broadcaster) activate() bool {
	head, err := b.store.Head(b.ctx)
	if err != nil {
		if b.ctx.Err() == nil {
			b.log.Warn("logstream: tailer: read the head", "err", err)
		}
		return false
	}
	b.mu.Lock()
	live := false
	for _, list := range b.byTenant {
		for _, s := range list {
			s.mu.Lock()
			live = live || s.live
			s.mu.Unlock()
		}
	}
	if !live && b.pos.Less(head) {
		b.pos = head
		b.forgetAll()
		b.rbase = head
	}
	b.active = true
	var all []*Subscription
	for _, list := range b.byTenant {
		all = append(all, list...)
	}
	b.mu.Unlock()
	for _, s := range all {
		s.signal()
	}
	return true
}

// distribute hands recs, read after pos, to the live subscriptions.
func (b *Broadcaster) distribute(pos logstore.Cursor, recs []logstore.Record) {
	b.mu.Lock()
	defer b.mu.Unlock()
	prev := pos
	for _, r := range recs {
		var ev *Event
		for _, s := range b.byTenant[r.Entry.TenantID] {
			if !s.match.Match(r.Entry) {
				continue
			}
			if ev == nil {
				var err error
				if ev, err = b.event(r); err != nil {
					b.log.Error("logstream: tailer", "err", err)
					break
				}
			}
			s.offer(ev, prev, b.opts.Buffer, b.opts.BufferBytes)
		}
		b.remember(r, ev)
		prev = r.Cursor
	}
	b.pos = prev
}

// remember keeps r in the ring of recent entries, within Options.Recent
// entries and Options.RecentBytes. When no subscription took r (ev is
// nil), only its cursor and tenant are kept: a subscription of that
// tenant that joins later reads the store instead.
func (b *Broadcaster) remember(r logstore.Record, ev *Event) {
	if ev == nil {
		ev = &Event{Cursor: r.Cursor, Entry: logs.Entry{TenantID: r.Entry.TenantID}}
	}
	n := len(b.recent)
	if b.rlen == n {
		b.forget()
	}
	b.recent[(b.rstart+b.rlen)%n] = ev
	b.rlen++
	b.rbytes += eventSize(ev)
	for b.rbytes > b.opts.RecentBytes && b.rlen > 0 {
		b.forget()
	}
}

// forgetAll drops every recent entry: with no subscription left there is
// no one to join the live feed, and the ring would keep up to
// Options.RecentBytes of entries until the next one comes. Called with
// b.mu held.
func (b *Broadcaster) forgetAll() {
	if b.rlen == 0 && b.rbase == b.pos {
		return // the idle tailer comes here on every wake-up
	}
	clear(b.recent)
	b.rbase, b.rstart, b.rlen, b.rbytes = b.pos, 0, 0, 0
}

// forget drops the oldest recent entry.
func (b *Broadcaster) forget() {
	ev := b.recent[b.rstart]
	b.rbase = ev.Cursor
	b.rbytes -= eventSize(ev)
	b.recent[b.rstart] = nil
	b.rstart = (b.rstart + 1) % len(b.recent)
	b.rlen--
}

// eventSize estimates the memory an event holds: its JSON, and the entry
// it was made from, of about the same size.
func eventSize(ev *Event) int {
	return 2*len(ev.Data) + 128
}

// join makes s live if it has caught up: if it has read everything up to a
// cursor at or beyond the tailer's position, or if the recent entries hold
// what lies between. It reports whether s is live, and whether it should
// read the store again now (false while the tailer is not active: s is
// woken when it is).
func (b *Broadcaster) join(s *Subscription) (live, again bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.active || b.closed {
		return false, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live || s.ended != nil {
		return s.live, false
	}
	c := s.cov
	if !c.Less(b.pos) {
		s.live, s.floor = true, c
		return true, false
	}
	if c.Less(b.rbase) {
		return false, true // the gap is not in memory any more: read the store
	}
	var add []*Event
	size := s.bufBytes
	n := len(b.recent)
	for i := 0; i < b.rlen; i++ {
		ev := b.recent[(b.rstart+i)%n]
		if !c.Less(ev.Cursor) || ev.Entry.TenantID != s.tenant {
			continue
		}
		if ev.Data == nil {
			return false, true // only a stub: read the store
		}
		if !s.match.Match(ev.Entry) {
			continue
		}
		add = append(add, ev)
		size += len(ev.Data)
	}
	if len(s.buf)+len(add) > b.opts.Buffer || size > b.opts.BufferBytes && len(add) > 0 {
		return false, true
	}
	s.buf = append(s.buf, add...)
	s.bufBytes = size
	s.live, s.floor = true, b.pos
	if len(s.buf) > 0 {
		// The reader may have looked at an empty Next already (when the
		// store read found nothing): tell it these are here.
		s.signal()
	}
	return true, false
}
