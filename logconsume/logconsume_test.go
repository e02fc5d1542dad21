package logconsume_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logconsume"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstore/bunstore"
)

var quiet = slog.New(slog.DiscardHandler)

func open(t *testing.T, url string) *bunstore.Store {
	t.Helper()
	s, err := bunstore.Open(context.Background(), url, &bunstore.Options{NoSearchIndex: true, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func runner(t *testing.T, s *bunstore.Store, o logconsume.Options) *logconsume.Runner {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quiet
	}
	if o.Poll == 0 {
		o.Poll = 50 * time.Millisecond
	}
	r := logconsume.New(s, s, &o)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func appendN(t *testing.T, s logstore.Store, tenant string, n int, prefix string) {
	t.Helper()
	es := make([]logs.Entry, n)
	for i := range es {
		es[i] = logs.Entry{Level: logs.LevelInfo, Source: "s", Message: fmt.Sprintf("%s %d", prefix, i)}
	}
	_, err := s.Append(context.Background(), tenant, es)
	require.NoError(t, err)
}

// collector is an Apply that records what it saw.
type collector struct {
	mu   sync.Mutex
	seen []string
	fail int // fail this many calls first
}

func (c *collector) apply(_ context.Context, recs []logstore.Record) ([]logstore.Effect, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail > 0 {
		c.fail--
		return nil, errors.New("the destination is down")
	}
	for _, r := range recs {
		c.seen = append(c.seen, r.Entry.Message)
	}
	return nil, nil
}

func (c *collector) messages() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

func forBackends(t *testing.T, f func(t *testing.T, url string)) {
	for _, b := range testdb.Backends() {
		t.Run(b, func(t *testing.T) { f(t, testdb.URL(t, b)) })
	}
}

// TestEveryEntryOnceInOrder: a consumer sees every entry of its tenant
// once, in cursor order, across a restart of its process, and retries a
// batch whose Apply failed.
func TestEveryEntryOnceInOrder(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		s := open(t, url)
		appendN(t, s, "a", 30, "before")
		appendN(t, s, "b", 5, "other tenant")
		c := &collector{fail: 2}
		r := runner(t, s, logconsume.Options{Retry: 10 * time.Millisecond})
		require.NoError(t, r.Add(logconsume.Spec{Name: "c", Tenant: "a", Batch: 7, Apply: c.apply}))
		require.ErrorIs(t, r.Add(logconsume.Spec{Name: "c", Apply: c.apply}), logs.ErrInvalid, "one name once")
		require.Eventually(t, func() bool { return len(c.messages()) == 30 }, 30*time.Second, 10*time.Millisecond)
		appendN(t, s, "a", 10, "live")
		require.Eventually(t, func() bool { return len(c.messages()) == 40 }, 30*time.Second, 10*time.Millisecond)
		require.NoError(t, r.Close())

		appendN(t, s, "a", 5, "while down")
		r2 := runner(t, s, logconsume.Options{})
		require.NoError(t, r2.Add(logconsume.Spec{Name: "c", Tenant: "a", Batch: 7, Apply: c.apply}))
		require.Eventually(t, func() bool { return len(c.messages()) == 45 }, 30*time.Second, 10*time.Millisecond)
		var want []string
		for _, p := range []struct {
			prefix string
			n      int
		}{{"before", 30}, {"live", 10}, {"while down", 5}} {
			for i := range p.n {
				want = append(want, fmt.Sprintf("%s %d", p.prefix, i))
			}
		}
		assert.Equal(t, want, c.messages(), "once each, in order, none of the other tenant")
		require.Eventually(t, func() bool { // the checkpoint moves once Apply has returned
			lags, err := r2.Lag(context.Background(), false)
			return err == nil && len(lags) == 1 && lags[0].Entries == 0
		}, 30*time.Second, 10*time.Millisecond, "no lag once everything is applied")
	})
}

// TestOneOwnerAmongReplicas: two runners (two processes) with the same spec
// apply each batch once between them; when the owner stops without giving
// its lease back, the other takes over after the lease from the
// checkpoint.
func TestOneOwnerAmongReplicas(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		s1, s2 := open(t, url), open(t, url)
		c := &collector{}
		opts := logconsume.Options{Lease: 600 * time.Millisecond}
		r1, r2 := runner(t, s1, opts), runner(t, s2, opts)
		spec := logconsume.Spec{Name: "shared", Batch: 5, Apply: c.apply}
		require.NoError(t, r1.Add(spec))
		require.NoError(t, r2.Add(spec))
		appendN(t, s1, "a", 40, "x")
		require.Eventually(t, func() bool { return len(c.messages()) >= 40 }, 30*time.Second, 10*time.Millisecond)
		appendN(t, s2, "a", 40, "y")
		require.Eventually(t, func() bool { return len(c.messages()) >= 80 }, 30*time.Second, 10*time.Millisecond)
		seen := map[string]int{}
		for _, m := range c.messages() {
			seen[m]++
		}
		for m, n := range seen {
			assert.Equal(t, 1, n, "%s applied once", m)
		}
		assert.Len(t, seen, 80)

		// The owner's process dies: its store goes away before it can give
		// the lease back. The other takes over once the lease expires.
		states, err := s1.ConsumerStates(context.Background())
		require.NoError(t, err)
		require.Len(t, states, 1)
		crashStore, crashRunner, live := s1, r1, s2
		lagRunner := r2
		if states[0].Owner != r1.Owner() {
			crashStore, crashRunner, live, lagRunner = s2, r2, s1, r1
		}
		require.NoError(t, crashStore.Close())
		require.NoError(t, crashRunner.Close())
		appendN(t, live, "a", 10, "z")
		require.Eventually(t, func() bool { return len(c.messages()) == 90 }, 30*time.Second, 10*time.Millisecond,
			"the survivor takes the consumer over after the lease")
		lags, err := lagRunner.Lag(context.Background(), false)
		require.NoError(t, err)
		require.Len(t, lags, 1)
	})
}

// TestRollupsKeepTotals: with the rollup consumer running, the list's
// totals stay equal to direct counts, and the consumer reaches the head.
func TestRollupsKeepTotals(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		s := open(t, url)
		r := runner(t, s, logconsume.Options{})
		require.NoError(t, r.Add(logconsume.Rollups()))
		now := time.Now()
		for i := range 20 {
			_, err := s.Append(context.Background(), "a", []logs.Entry{
				{Level: logs.LevelError, Source: "auth", Message: "m", CreatedAt: now.Add(-time.Duration(i) * 7 * time.Hour)},
				{Level: logs.LevelInfo, Source: "admin", Message: "m"},
			})
			require.NoError(t, err)
		}
		require.Eventually(t, func() bool {
			lags, err := r.Lag(context.Background(), false)
			return err == nil && len(lags) == 1 && lags[0].Entries == 0
		}, 30*time.Second, 10*time.Millisecond, "the consumer reaches the head")
		var rows int
		require.NoError(t, s.DB().QueryRowContext(context.Background(), "SELECT count(*) FROM log_counts_hour").Scan(&rows))
		assert.Positive(t, rows, "the consumer wrote rollups")
		for _, f := range []logquery.Filter{{}, {Level: logs.LevelError}, {Source: "admin"}, {Start: now.Add(-50 * time.Hour)}} {
			page, err := s.Query(context.Background(), "a", f)
			require.NoError(t, err)
			n, err := s.Count(context.Background(), "a", f, "")
			require.NoError(t, err)
			assert.Equal(t, n, page.Total, f.String())
		}
	})
}

// TestRetryIsTheSameBatch: a batch whose Apply failed is handed out again
// as it was, though more entries arrived meanwhile; they follow in the
// next batch.
func TestRetryIsTheSameBatch(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		s := open(t, url)
		appendN(t, s, "a", 3, "first")
		var mu sync.Mutex
		var sizes []int
		calls := 0
		apply := func(ctx context.Context, recs []logstore.Record) ([]logstore.Effect, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			sizes = append(sizes, len(recs))
			if calls == 1 {
				appendN(t, s, "a", 5, "meanwhile")
				return nil, errors.New("the destination is down")
			}
			return nil, nil
		}
		r := runner(t, s, logconsume.Options{Retry: 10 * time.Millisecond})
		require.NoError(t, r.Add(logconsume.Spec{Name: "c", Tenant: "a", Batch: 100, Apply: apply}))
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			n := 0
			for _, x := range sizes[min(1, len(sizes)):] {
				n += x
			}
			return n == 8
		}, 30*time.Second, 10*time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []int{3, 3, 5}, sizes, "the failed batch again as it was, then the rest")
	})
}

// TestTick: Tick runs about every Every while the consumer is held, at the
// head too, and its effects commit (here a checkpoint of the tree tables,
// which the store keeps like any effect); a failing Tick is retried like
// Apply and holds no batch back for good.
func TestTick(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			s := open(t, testdb.URL(t, backend))
			var mu sync.Mutex
			ticks, fails := 0, 2
			c := &collector{}
			r := runner(t, s, logconsume.Options{Poll: 10 * time.Millisecond, Retry: time.Millisecond})
			require.NoError(t, r.Add(logconsume.Spec{Name: "ticker", Apply: c.apply, Every: 5 * time.Millisecond,
				Tick: func(context.Context) ([]logstore.Effect, error) {
					mu.Lock()
					defer mu.Unlock()
					if fails > 0 {
						fails--
						return nil, errors.New("the bucket is down")
					}
					ticks++
					return []logstore.Effect{logstore.CheckpointEffect{Checkpoint: logstore.TreeCheckpoint{
						Tenant: "t1", Size: int64(ticks), Time: time.Now(), Note: []byte("n")}}}, nil
				}}))
			appendN(t, s, "t1", 3, "m")
			require.Eventually(t, func() bool { return len(c.messages()) == 3 }, 20*time.Second, 5*time.Millisecond)
			require.Eventually(t, func() bool {
				h, err := s.TreeHead(context.Background(), "t1")
				return err == nil && h.CheckpointSize >= 5
			}, 20*time.Second, 5*time.Millisecond, "ticks go on at the head, their effects committed")
			assert.Equal(t, []string{"m 0", "m 1", "m 2"}, c.messages(), "each entry once")
		})
	}
}
