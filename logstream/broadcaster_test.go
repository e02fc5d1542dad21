package logstream_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstream"
)

func forBackends(t *testing.T, f func(t *testing.T, backend string)) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f(t, backend)
		})
	}
}

func TestLiveFiltersAndTenants(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		store := openStore(t, backend)
		b := newBroadcaster(t, store, logstream.Options{})
		subs := map[string]*logstream.Subscription{
			"a-all":    subscribe(t, b, "a", logquery.Filter{}, nil),
			"a-error":  subscribe(t, b, "a", logquery.Filter{Level: logs.LevelError}, nil),
			"a-auth":   subscribe(t, b, "a", logquery.Filter{Source: "auth"}, nil),
			"a-search": subscribe(t, b, "a", logquery.Filter{Search: `DISK "is full"`}, nil),
			"b-all":    subscribe(t, b, "b", logquery.Filter{}, nil),
		}
		a := appendEntries(t, store, "a",
			mk(logs.LevelInfo, "auth", "login ok"),
			mk(logs.LevelError, "auth", "Disk is full on node 1"),
			mk(logs.LevelWarn, "idp", "disk is nearly full"),
			mk(logs.LevelError, "scim", "sync failed"),
		)
		bb := appendEntries(t, store, "b", mk(logs.LevelError, "auth", "disk is full"))
		want := map[string][]string{
			"a-all":    ids(a),
			"a-error":  {a[1].ID, a[3].ID},
			"a-auth":   {a[0].ID, a[1].ID},
			"a-search": {a[1].ID},
			"b-all":    ids(bb),
		}
		for name, sub := range subs {
			got := receive(t, sub, len(want[name]))
			assert.Equal(t, want[name], eventIDs(got), name)
			for _, ev := range got {
				assert.Equal(t, sub.Tenant(), ev.Entry.TenantID, name)
				j, err := ev.Entry.MarshalJSON()
				require.NoError(t, err)
				assert.JSONEq(t, string(j), string(ev.Data), name)
				c, err := b.Sealer().Open(sub.Tenant(), ev.ID)
				require.NoError(t, err)
				assert.Equal(t, ev.Cursor, c, name)
			}
		}
		for name, sub := range subs {
			nothingMore(t, sub, 100*time.Millisecond)
			_ = name
		}
	})
}

func TestResumeReplaysThenLive(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		store := openStore(t, backend)
		b := newBroadcaster(t, store, logstream.Options{Batch: 7}) // several catch-up reads
		first := appendEntries(t, store, "a", numbered("old", 30)...)
		appendEntries(t, store, "other", numbered("noise", 5)...)
		recs := visible(t, store, "a", 30)
		after := recs[9].Cursor
		sub := subscribe(t, b, "a", logquery.Filter{}, &after)
		got := receive(t, sub, 20)
		assert.Equal(t, ids(first[10:]), eventIDs(got))

		more := appendEntries(t, store, "a", numbered("new", 10)...)
		got = receive(t, sub, 10)
		assert.Equal(t, ids(more), eventIDs(got))
		nothingMore(t, sub, 100*time.Millisecond)
		assert.True(t, sub.IsLive(), "after catching up the subscription joins the live feed")

		// A fresh subscription starts at the live edge: no history.
		fresh := subscribe(t, b, "a", logquery.Filter{}, nil)
		last := appendEntries(t, store, "a", mk(logs.LevelInfo, "app", "after fresh"))
		assert.Equal(t, ids(last), eventIDs(receive(t, fresh, 1)))
		nothingMore(t, fresh, 50*time.Millisecond)
	})
}

// A subscriber that does not read loses nothing and does not hold back
// another subscriber or the writers.
func TestStalledSubscriber(t *testing.T) {
	for name, o := range map[string]logstream.Options{
		"few events":   {Buffer: 4, Recent: 16, Batch: 50},
		"little bytes": {BufferBytes: 1, RecentBytes: 1, Batch: 50},
	} {
		t.Run(name, func(t *testing.T) { testStalledSubscriber(t, o) })
	}
}

func testStalledSubscriber(t *testing.T, o logstream.Options) {
	forBackends(t, func(t *testing.T, backend string) {
		store := openStore(t, backend)
		b := newBroadcaster(t, store, o)
		stalled := subscribe(t, b, "a", logquery.Filter{}, nil)
		fast := subscribe(t, b, "a", logquery.Filter{}, nil)

		var written []logs.Entry
		var got []*logstream.Event
		for round := range 10 {
			es, err := store.Append(context.Background(), "a", numbered(fmt.Sprint("r", round), 30))
			require.NoError(t, err)
			written = append(written, es...)
			got = append(got, receive(t, fast, len(es))...)
		}
		assert.Equal(t, ids(written), eventIDs(got), "the fast subscriber got everything while the other one stalled")
		assert.False(t, stalled.IsLive(), "the stalled subscriber left the live feed")

		got = receive(t, stalled, len(written))
		assert.Equal(t, ids(written), eventIDs(got), "the stalled subscriber lost nothing")
		nothingMore(t, stalled, 100*time.Millisecond)
		// It joins the live feed inside its reads (a catch-up that finds
		// nothing more joins), so it is read until it has joined.
		require.Eventually(t, func() bool {
			evs, err := stalled.Next(context.Background())
			require.NoError(t, err)
			require.Empty(t, evs, "nothing was written meanwhile")
			return stalled.IsLive()
		}, 20*time.Second, 10*time.Millisecond, "it joins the live feed again")

		later := appendEntries(t, store, "a", numbered("later", 3)...)
		assert.Equal(t, ids(later), eventIDs(receive(t, stalled, 3)))
		assert.Equal(t, ids(later), eventIDs(receive(t, fast, 3)))
	})
}

func TestLimits(t *testing.T) {
	store := openStore(t, "sqlite")
	endOf := func(t *testing.T, err error) logstream.EndReason {
		t.Helper()
		var end *logstream.EndError
		require.ErrorAs(t, err, &end)
		return end.Reason
	}
	t.Run("per tenant and global", func(t *testing.T) {
		b := newBroadcaster(t, store, logstream.Options{MaxStreams: 3, MaxStreamsPerTenant: 2})
		s1 := subscribe(t, b, "a", logquery.Filter{}, nil)
		subscribe(t, b, "a", logquery.Filter{}, nil)
		_, err := b.Subscribe(context.Background(), "a", logquery.Filter{}, nil)
		assert.Equal(t, logstream.EndTenantStreamLimit, endOf(t, err))
		assert.Equal(t, logs.CodeRateLimited, logs.Code(err))
		subscribe(t, b, "b", logquery.Filter{}, nil)
		_, err = b.Subscribe(context.Background(), "c", logquery.Filter{}, nil)
		assert.Equal(t, logstream.EndStreamLimit, endOf(t, err))
		require.NoError(t, s1.Close())
		subscribe(t, b, "a", logquery.Filter{}, nil) // the place was freed
	})
	t.Run("context ends the subscription", func(t *testing.T) {
		b := newBroadcaster(t, store, logstream.Options{MaxStreamsPerTenant: 1})
		ctx, cancel := context.WithCancel(context.Background())
		_, err := b.Subscribe(ctx, "a", logquery.Filter{}, nil)
		require.NoError(t, err)
		cancel()
		require.Eventually(t, func() bool { _, n := b.Streams("a"); return n == 0 }, 5*time.Second, 5*time.Millisecond)
		subscribe(t, b, "a", logquery.Filter{}, nil)
	})
	t.Run("max duration", func(t *testing.T) {
		b := newBroadcaster(t, store, logstream.Options{MaxDuration: 50 * time.Millisecond})
		sub := subscribe(t, b, "a", logquery.Filter{}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := sub.Recv(ctx)
		assert.Equal(t, logstream.EndMaxDuration, endOf(t, err))
		all, _ := b.Streams("a")
		assert.Zero(t, all, "an ended stream frees its place")
	})
	t.Run("shutdown", func(t *testing.T) {
		b := newBroadcaster(t, store, logstream.Options{})
		sub := subscribe(t, b, "a", logquery.Filter{}, nil)
		require.NoError(t, b.Close())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := sub.Recv(ctx)
		assert.Equal(t, logstream.EndShutdown, endOf(t, err))
		_, err = b.Subscribe(context.Background(), "a", logquery.Filter{}, nil)
		assert.Equal(t, logstream.EndShutdown, endOf(t, err))
		require.NoError(t, b.Close(), "Close is idempotent")
	})
	t.Run("bad input", func(t *testing.T) {
		b := newBroadcaster(t, store, logstream.Options{})
		_, err := b.Subscribe(context.Background(), "", logquery.Filter{}, nil)
		assert.ErrorIs(t, err, logs.ErrInvalid)
		_, err = b.Subscribe(context.Background(), "a", logquery.Filter{Level: "fatal"}, nil)
		assert.Equal(t, "level", logs.FieldOf(err))
	})
}

// TestConcurrentWritersForcedReconnects: several writers append at once,
// some in slow transactions, so sequence values commit out of order; each
// reader reconnects at random points (from its last event, or from its
// position) and must see every entry of its tenant exactly once, in cursor
// order.
func TestConcurrentWritersForcedReconnects(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		store := openStore(t, backend)
		ctx := context.Background()
		if backend == "postgres" {
			// Every insert of an entry with source "slow" sleeps inside its
			// transaction, after its sequence value and transaction id were
			// taken: those appends commit after later ones.
			db := store.DB()
			for _, q := range []string{
				`CREATE FUNCTION test_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN PERFORM pg_sleep(0.05 + random() * 0.15); RETURN NEW; END $$`,
				`CREATE TRIGGER test_slow_insert BEFORE INSERT ON log_entries FOR EACH ROW
				WHEN (NEW.source = 'slow') EXECUTE FUNCTION test_slow_insert()`,
			} {
				_, err := db.ExecContext(ctx, q)
				require.NoError(t, err)
			}
		}
		b := newBroadcaster(t, store, logstream.Options{Buffer: 8, Recent: 64, Batch: 20, Poll: 20 * time.Millisecond})

		const writers, perWriter = 6, 40
		tenants := []string{"a", "b"}
		written := map[string]*atomic.Int64{"a": {}, "b": {}}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		start := make(chan struct{})
		var subscribed sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				<-start
				rng := rand.New(rand.NewPCG(uint64(w), 1))
				for i := range perWriter {
					tenant := tenants[rng.IntN(len(tenants))]
					source := "app"
					if w%3 == 0 && rng.IntN(4) == 0 {
						source = "slow"
					}
					n := 1 + rng.IntN(3)
					es := make([]logs.Entry, n)
					for j := range es {
						es[j] = mk(logs.LevelInfo, source, fmt.Sprintf("w%d-%d-%d", w, i, j))
					}
					_, err := store.Append(ctx, tenant, es)
					assert.NoError(t, err)
					written[tenant].Add(int64(n))
				}
			})
		}
		if backend == "postgres" {
			// A transaction that takes an id and holds it: the watermark
			// stays behind it, and its end wakes nobody (no append).
			wg.Go(func() {
				<-start
				for range 3 {
					tx, err := store.DB().BeginTx(ctx, nil)
					if !assert.NoError(t, err) {
						return
					}
					_, err = tx.ExecContext(ctx, "SELECT pg_current_xact_id()")
					assert.NoError(t, err)
					time.Sleep(150 * time.Millisecond)
					assert.NoError(t, tx.Commit())
				}
			})
		}

		type result struct {
			tenant string
			got    []*logstream.Event
			reconn int
		}
		readers := []string{"a", "a", "b"}
		results := make([]*result, len(readers))
		var rg sync.WaitGroup
		subscribed.Add(len(readers))
		for i, tenant := range readers {
			res := &result{tenant: tenant}
			results[i] = res
			rg.Go(func() {
				first := true
				rng := rand.New(rand.NewPCG(uint64(i), 2))
				rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				defer cancel()
				var resume *logstore.Cursor
				for {
					sub, err := b.Subscribe(rctx, tenant, logquery.Filter{}, resume)
					if first {
						subscribed.Done() // the writers start once every reader is at the live edge
						first = false
					}
					if !assert.NoError(t, err) {
						return
					}
					budget := 1 + rng.IntN(25) // events before a forced reconnect
					for budget > 0 {
						if rng.IntN(3) == 0 {
							time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond) // a slow reader
						}
						evs, err := sub.Next(rctx)
						if !assert.NoError(t, err) {
							return
						}
						if len(evs) == 0 {
							select {
							case <-sub.Ready():
								continue
							case <-stop:
								budget = 0
								continue
							case <-rctx.Done():
								t.Error("reader timed out")
								return
							}
						}
						res.got = append(res.got, evs...)
						budget -= len(evs)
					}
					// Resume from the position (it covers the last event)
					// or, like a browser, from the last event's id.
					p := sub.Position()
					if rng.IntN(2) == 0 && len(res.got) > 0 {
						p = res.got[len(res.got)-1].Cursor
					}
					require.NoError(t, sub.Close())
					resume = &p
					res.reconn++
					select {
					case <-stop:
						// Drain what is left after the writers finished.
						sub, err := b.Subscribe(rctx, tenant, logquery.Filter{}, resume)
						if !assert.NoError(t, err) {
							return
						}
						want := int(written[tenant].Load())
						for len(res.got) < want {
							evs, err := sub.Recv(rctx)
							if !assert.NoError(t, err) {
								return
							}
							res.got = append(res.got, evs...)
						}
						_ = sub.Close()
						return
					default:
					}
				}
			})
		}
		subscribed.Wait()
		close(start)
		wg.Wait()
		close(stop)
		rg.Wait()

		for i, res := range results {
			want := visible(t, store, res.tenant, int(written[res.tenant].Load()))
			wantIDs := make([]string, len(want))
			for j, r := range want {
				wantIDs[j] = r.Entry.ID
			}
			sameSequence(t, wantIDs, eventIDs(res.got), fmt.Sprintf("reader %d (%s), %d reconnects", i, res.tenant, res.reconn))
			for j := 1; j < len(res.got); j++ {
				require.True(t, res.got[j-1].Cursor.Less(res.got[j].Cursor), "cursor order")
			}
			t.Logf("reader %d (%s): %d events, %d reconnects", i, res.tenant, len(res.got), res.reconn)
		}
		assert.GreaterOrEqual(t, written["a"].Load()+written["b"].Load(), int64(writers*perWriter))
	})
}

// A Broadcaster streams what another process's store (here: a second
// Store on the same database) appended.
func TestOtherWriterOnSameDatabase(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		url := testdb.URL(t, backend)
		reader := openURL(t, url)
		writer := openURL(t, url)
		b := newBroadcaster(t, reader, logstream.Options{Poll: time.Second})
		sub := subscribe(t, b, "a", logquery.Filter{}, nil)
		require.Eventually(t, func() bool {
			// Wait for the tailer to be active before appending.
			_, n := b.Streams("a")
			return n == 1
		}, 5*time.Second, 5*time.Millisecond)
		es := appendEntries(t, writer, "a", numbered("remote", 5)...)
		assert.Equal(t, ids(es), eventIDs(receive(t, sub, 5)))
	})
}

func TestSealer(t *testing.T) {
	s, err := logstream.NewSealer(testKey)
	require.NoError(t, err)
	other, err := logstream.NewSealer([]byte("another key, also long enough"))
	require.NoError(t, err)
	c := logstore.Cursor{Epoch: 123456, Seq: 42}
	id := s.Seal("a", c)
	assert.Len(t, id, logstream.SealedLen)
	assert.Equal(t, id, s.Seal("a", c), "deterministic")
	assert.NotContains(t, id, c.String())

	got, err := s.Open("a", id)
	require.NoError(t, err)
	assert.Equal(t, c, got)

	flip := []byte(id)
	flip[5] ^= 1
	for name, tc := range map[string]struct {
		sealer *logstream.Sealer
		tenant string
		id     string
	}{
		"other tenant": {s, "b", id},
		"other key":    {other, "a", id},
		"tampered":     {s, "a", string(flip)},
		"truncated":    {s, "a", id[:len(id)-1]},
		"empty":        {s, "a", ""},
		"raw cursor":   {s, "a", c.String()},
		"not base64":   {s, "a", id[:len(id)-1] + "!"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tc.sealer.Open(tc.tenant, tc.id)
			assert.ErrorIs(t, err, logs.ErrInvalid)
		})
	}
	_, err = logstream.NewSealer([]byte("short"))
	assert.ErrorIs(t, err, logs.ErrInvalid)
}

func TestTickets(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		url := testdb.URL(t, backend)
		store, other := openURL(t, url), openURL(t, url)
		ctx := context.Background()
		// Two replicas: same key, each its own store (and ledger) on the shared database.
		b1 := newBroadcaster(t, store, logstream.Options{Ledger: store})
		b2 := newBroadcaster(t, other, logstream.Options{Ledger: other})
		f, err := logquery.New().Level(logs.LevelError).Search(`"a b" c`).Since(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)).Build()
		require.NoError(t, err)

		until := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
		tk, err := b1.IssueTicket(ctx, logstream.Grant{Tenant: "a", Filter: f, Until: until})
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now().Add(logstream.DefaultTicketTTL), tk.ExpiresAt, 5*time.Second)
		g, err := b2.RedeemTicket(ctx, tk.Value)
		require.NoError(t, err)
		assert.Equal(t, "a", g.Tenant)
		assert.Equal(t, f.Raw(), g.Filter.Raw())
		assert.Equal(t, until, g.Until)
		_, err = b1.RedeemTicket(ctx, tk.Value)
		assert.ErrorIs(t, err, logs.ErrUnauthenticated, "single use across replicas")

		// Of many concurrent redemptions exactly one wins.
		tk, err = b1.IssueTicket(ctx, logstream.Grant{Tenant: "a"})
		require.NoError(t, err)
		var wins sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := range 8 {
			wins.Go(func() {
				b := b1
				if i%2 == 1 {
					b = b2
				}
				if _, err := b.RedeemTicket(ctx, tk.Value); err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				} else {
					assert.ErrorIs(t, err, logs.ErrUnauthenticated)
				}
			})
		}
		wins.Wait()
		assert.Equal(t, 1, ok)

		// Refused: altered, another key, expired, credential expired, garbage.
		tk, err = b1.IssueTicket(ctx, logstream.Grant{Tenant: "a"})
		require.NoError(t, err)
		alt := []byte(tk.Value)
		alt[len(alt)/2] ^= 2
		otherKey := newBroadcaster(t, store, logstream.Options{Key: []byte("some other key of enough length")})
		short := newBroadcaster(t, store, logstream.Options{TicketTTL: time.Millisecond})
		expired, err := short.IssueTicket(ctx, logstream.Grant{Tenant: "a"})
		require.NoError(t, err)
		lapsed, err := b1.IssueTicket(ctx, logstream.Grant{Tenant: "a", Until: time.Now().Add(2 * time.Millisecond)})
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
		for name, tc := range map[string]struct {
			b *logstream.Broadcaster
			v string
		}{
			"altered":   {b1, string(alt)},
			"other key": {otherKey, tk.Value},
			"expired":   {short, expired.Value},
			"lapsed":    {b1, lapsed.Value},
			"garbage":   {b1, "not-a-ticket"},
			"empty":     {b1, ""},
		} {
			_, err := tc.b.RedeemTicket(ctx, tc.v)
			assert.ErrorIs(t, err, logs.ErrUnauthenticated, name)
		}
		_, err = b1.RedeemTicket(ctx, tk.Value)
		assert.NoError(t, err, "the unaltered ticket is still good")

		// Verify does not spend; Spend spends once, across replicas; a
		// ticket that expired after Verify is refused by Spend.
		tk, err = b1.IssueTicket(ctx, logstream.Grant{Tenant: "a", Filter: f})
		require.NoError(t, err)
		for range 2 {
			v, err := b2.VerifyTicket(tk.Value)
			require.NoError(t, err)
			assert.Equal(t, "a", v.Tenant)
			assert.Equal(t, f.Raw(), v.Filter.Raw())
		}
		v1, err := b1.VerifyTicket(tk.Value)
		require.NoError(t, err)
		v2, err := b2.VerifyTicket(tk.Value)
		require.NoError(t, err)
		require.NoError(t, b2.SpendTicket(ctx, v2))
		assert.ErrorIs(t, b1.SpendTicket(ctx, v1), logs.ErrUnauthenticated, "spent on the other replica")
		assert.ErrorIs(t, b1.SpendTicket(ctx, logstream.VerifiedTicket{}), logs.ErrUnauthenticated, "never verified")
		brief := newBroadcaster(t, store, logstream.Options{TicketTTL: 200 * time.Millisecond})
		soon, err := brief.IssueTicket(ctx, logstream.Grant{Tenant: "a"})
		require.NoError(t, err)
		vs, err := brief.VerifyTicket(soon.Value)
		require.NoError(t, err)
		time.Sleep(250 * time.Millisecond)
		assert.ErrorIs(t, brief.SpendTicket(ctx, vs), logs.ErrUnauthenticated, "expired after Verify")

		_, err = b1.IssueTicket(ctx, logstream.Grant{Tenant: "bad tenant!"})
		assert.True(t, errors.Is(err, logs.ErrInvalid))
	})
}

// On PostgreSQL the visibility watermark is the cluster's: a transaction in
// another database holds back an entry whose append woke the tailer, and
// its end wakes nobody. The tailer reads again soon after a wake-up, so the
// entry comes when that transaction ends, not at the next poll (a minute
// here).
func TestForeignTransactionHoldsWatermark(t *testing.T) {
	store := openStore(t, "postgres")
	other := openStore(t, "postgres") // another database of the same cluster
	b := newBroadcaster(t, store, logstream.Options{Poll: time.Minute})
	sub := subscribe(t, b, "a", logquery.Filter{}, nil)
	appendEntries(t, store, "a", mk(logs.LevelInfo, "app", "warm-up"))
	receive(t, sub, 1)

	ctx := context.Background()
	tx, err := other.DB().BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, "SELECT pg_current_xact_id()")
	require.NoError(t, err)
	es := appendEntries(t, store, "a", mk(logs.LevelInfo, "app", "behind a foreign transaction"))
	time.Sleep(300 * time.Millisecond) // the wake-up's read finds nothing
	require.NoError(t, tx.Commit())
	assert.Equal(t, ids(es), eventIDs(receive(t, sub, 1)), "within receive's 20 s, not at the next poll in a minute")
}

// TestOpenTicketReconnects: the event ids of a stream opened with a ticket
// name the ticket, and that ticket with such an id is accepted again (a
// browser's reconnection) until the credential it came from expires, even
// after the ticket's own expiry; any other use of it is a first use.
func TestOpenTicketReconnects(t *testing.T) {
	store := openStore(t, "sqlite")
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	b := newBroadcaster(t, store, logstream.Options{Now: clock, TicketTTL: time.Minute})
	ctx := context.Background()
	until := now.Add(time.Hour)
	tk, err := b.IssueTicket(ctx, logstream.Grant{Tenant: "a", Until: until})
	require.NoError(t, err)

	v, after, err := b.OpenTicket(tk.Value, "")
	require.NoError(t, err)
	assert.False(t, v.Reconnect)
	assert.Nil(t, after)
	require.NoError(t, b.SpendTicket(ctx, v))
	c := logstore.Cursor{Epoch: 0, Seq: 42}
	bound := b.Sealer().SealTicket("a", v.ID(), c)
	assert.Len(t, bound, logstream.TicketSealedLen)
	got, err := b.Sealer().Open("a", bound)
	require.NoError(t, err)
	assert.Equal(t, c, got, "a ticket stream's id resumes a token stream too")
	_, err = b.Sealer().Open("b", bound)
	assert.ErrorIs(t, err, logs.ErrInvalid, "bound to the tenant")

	// After the ticket's own expiry, within the token's.
	advance(10 * time.Minute)
	v2, after, err := b.OpenTicket(tk.Value, bound)
	require.NoError(t, err)
	assert.True(t, v2.Reconnect)
	assert.Equal(t, c, *after)
	_, _, err = b.OpenTicket(tk.Value, "")
	assert.ErrorIs(t, err, logs.ErrUnauthenticated, "without its stream's id it is a first use, and expired")
	_, _, err = b.OpenTicket(tk.Value, b.Sealer().Seal("a", c))
	assert.ErrorIs(t, err, logs.ErrUnauthenticated, "an id of another stream is no reconnection")

	// Another ticket's id with a fresh ticket: a first use that resumes.
	tk2, err := b.IssueTicket(ctx, logstream.Grant{Tenant: "a", Until: until})
	require.NoError(t, err)
	v3, after, err := b.OpenTicket(tk2.Value, bound)
	require.NoError(t, err)
	assert.False(t, v3.Reconnect)
	assert.Equal(t, c, *after)
	_, _, err = b.OpenTicket(tk2.Value, "not an id")
	assert.ErrorIs(t, err, logs.ErrInvalid)

	// Once the token has expired, no reconnection.
	advance(time.Hour)
	_, _, err = b.OpenTicket(tk.Value, bound)
	assert.ErrorIs(t, err, logs.ErrUnauthenticated)

	// A tampered bound id is refused.
	tampered := []byte(bound)
	tampered[20] ^= 1
	_, err = b.Sealer().Open("a", string(tampered))
	assert.ErrorIs(t, err, logs.ErrInvalid)
}
