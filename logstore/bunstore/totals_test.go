package bunstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstore/bunstore"
)

// TestTotalsExactWhileAppending: while writers append (entries of now and
// back-dated ones, in the past of the newest bucket) and the rollup
// consumer applies them, every total equals a direct COUNT(*) taken in
// the same snapshot.
func TestTotalsExactWhileAppending(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			// A generous bound: on SQLite under -race on a loaded 2-core
			// machine the comparisons took 100-120 s.
			ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
			defer cancel()
			s, err := bunstore.Open(ctx, testdb.URL(t, backend), &bunstore.Options{NoSearchIndex: true})
			require.NoError(t, err)
			defer s.Close()
			now := time.Now().UTC()
			levels := []logs.Level{logs.LevelInfo, logs.LevelWarn, logs.LevelError}
			sources := []string{"auth", "admin", "scim"}
			entry := func(rng *rand.Rand) logs.Entry {
				at := now.Add(-time.Duration(rng.Int64N(int64(72 * time.Hour))))
				if rng.IntN(4) == 0 {
					at = now.Add(-time.Duration(rng.Int64N(int64(time.Hour)))) // the newest buckets
				}
				return logs.Entry{Level: levels[rng.IntN(3)], Source: sources[rng.IntN(3)], Message: "m", CreatedAt: at}
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var appended atomic.Int64
			for w := range 3 {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 1))
					for {
						select {
						case <-stop:
							return
						default:
						}
						batch := make([]logs.Entry, 1+rng.IntN(20))
						for i := range batch {
							batch[i] = entry(rng)
						}
						if _, err := s.Append(ctx, "t1", batch); err != nil {
							t.Error(err)
							return
						}
						appended.Add(int64(len(batch)))
					}
				})
			}
			wg.Go(func() { // the rollup consumer, by hand
				owner, cp := "test", logstore.Cursor{}
				for {
					select {
					case <-stop:
						return
					default:
					}
					at := time.Now()
					if _, _, err := s.ClaimConsumer(ctx, logstore.RollupConsumer, owner, cp, at, at.Add(time.Minute)); err != nil {
						t.Error(err)
						return
					}
					recs, err := s.After(ctx, "", cp, 1+rand.IntN(50))
					if err != nil {
						t.Error(err)
						return
					}
					if len(recs) == 0 {
						continue
					}
					ok, err := s.AdvanceConsumer(ctx, logstore.RollupConsumer, owner, cp, recs[len(recs)-1].Cursor, at,
						logstore.RollupEffect{Deltas: logstore.RollupDeltas(recs)})
					if err != nil || !ok {
						t.Error("advance", ok, err)
						return
					}
					cp = recs[len(recs)-1].Cursor
				}
			})
			rng := rand.New(rand.NewPCG(7, 7))
			for i := 0; i < 200 || appended.Load() < 1500; i++ {
				var f logquery.Filter
				if rng.IntN(2) == 0 {
					f.Level = levels[rng.IntN(3)]
				}
				if rng.IntN(2) == 0 {
					f.Source = sources[rng.IntN(3)]
				}
				if rng.IntN(3) > 0 {
					f.Start = now.Add(-time.Duration(rng.Int64N(int64(80 * time.Hour))))
				}
				if rng.IntN(3) > 0 {
					f.End = now.Add(-time.Duration(rng.Int64N(int64(80 * time.Hour)))).Add(24 * time.Hour)
				}
				if !f.Start.IsZero() && !f.End.IsZero() && f.Start.After(f.End) {
					f.Start, f.End = f.End, f.Start
				}
				total, direct, err := bunstore.TotalAndCount(ctx, s, "t1", f)
				require.NoError(t, err)
				require.Equal(t, direct, total, fmt.Sprintf("after %d appended: %s", appended.Load(), f))
			}
			close(stop)
			wg.Wait()
		})
	}
}

// TestPageAgreesWithTotalWhileAppending: a list answer's total and its
// entries are of one moment, also on SQLite (its two statements ran
// outside a transaction: an append committing between them gave a page of
// 137 entries with a total of 136).
func TestPageAgreesWithTotalWhileAppending(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			s, err := bunstore.Open(ctx, testdb.URL(t, backend), &bunstore.Options{NoSearchIndex: true})
			require.NoError(t, err)
			defer s.Close()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						_, err := s.Append(ctx, "agree", []logs.Entry{{Level: logs.LevelInfo, Source: "a", Message: "m"}})
						if err != nil && ctx.Err() == nil {
							t.Error(err)
							return
						}
					}
				})
			}
			f, err := logquery.New().Limit(logquery.MaxLimit).Build()
			require.NoError(t, err)
			bad := 0
			for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
				page, err := s.Query(ctx, "agree", f)
				require.NoError(t, err)
				if page.Total >= int64(logquery.MaxLimit) {
					break
				}
				if int64(len(page.Entries)) != page.Total {
					bad++
					t.Logf("a page of %d entries with a total of %d", len(page.Entries), page.Total)
				}
			}
			close(stop)
			wg.Wait()
			require.Zero(t, bad, "pages whose entries disagree with their total")
		})
	}
}
