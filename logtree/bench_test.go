package logtree_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logconsume"
	"github.com/ithbat/logs/logstore"
)

func benchBatch(n int, at time.Time) []logs.Entry {
	es := make([]logs.Entry, n)
	for i := range es {
		es[i] = logs.Entry{Level: logs.LevelInfo, Source: "auth", Message: fmt.Sprintf("Failed login attempt %d — invalid credentials", i),
			Metadata: map[string]any{"userId": fmt.Sprintf("u%d", i%997), "ip": "102.45.67.89"}, CreatedAt: at.Add(-time.Duration(i) * time.Millisecond)}
	}
	return es
}

// BenchmarkTreeConsumer measures the tree consumer catching up: b.N
// batches of 1,000 entries of 4 tenants are appended, then the consumer
// (batches of 5,000, as Spec has it) builds the trees and signs. It
// reports entries per second of the consumer alone.
func BenchmarkTreeConsumer(b *testing.B) {
	for _, backend := range testdb.Backends() {
		b.Run(backend, func(b *testing.B) {
			e := newBenchEnv(b, backend)
			ctx := context.Background()
			for i := range b.N {
				_, err := e.store.Append(ctx, fmt.Sprintf("tenant-%d", i%4), benchBatch(1000, recent))
				require.NoError(b, err)
			}
			b.ResetTimer()
			start := time.Now()
			now := time.Now()
			st, ok, err := e.store.ClaimConsumer(ctx, logstore.TreeConsumer, "bench", logstore.Cursor{}, now, now.Add(time.Hour))
			require.NoError(b, err)
			require.True(b, ok)
			cp, n := st.Checkpoint, 0
			for n < b.N*1000 {
				recs, err := e.store.After(ctx, "", cp, 5000)
				require.NoError(b, err)
				if len(recs) == 0 {
					continue // PostgreSQL: below the watermark soon
				}
				effs, err := e.log.Apply(ctx, recs)
				require.NoError(b, err)
				ticked, err := e.log.Tick(ctx)
				require.NoError(b, err)
				to := recs[len(recs)-1].Cursor
				ok, err := e.store.AdvanceConsumer(ctx, logstore.TreeConsumer, "bench", cp, to, now, append(ticked, effs...)...)
				require.NoError(b, err)
				require.True(b, ok)
				cp, n = to, n+len(recs)
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "entries/s")
		})
	}
}

// BenchmarkIngestWithTree measures ingest (b.N batches of 1,000 entries)
// while a Runner runs the rollups and the tree consumer, as logsd does:
// ingest entries per second, the consumer's lag (entries) when ingest
// ends, and how long it then takes to catch up; beside the same with the
// rollups alone (their lag), the baseline.
func BenchmarkIngestWithTree(b *testing.B) {
	for _, backend := range testdb.Backends() {
		for _, tree := range []bool{false, true} {
			name := backend + "/rollups-only"
			if tree {
				name = backend + "/rollups-and-tree"
			}
			b.Run(name, func(b *testing.B) { benchIngest(b, backend, tree) })
		}
	}
}

func benchIngest(b *testing.B, backend string, tree bool) {
	{
		{
			e := newBenchEnv(b, backend)
			ctx := context.Background()
			r := logconsume.New(e.store, e.store, &logconsume.Options{Poll: 50 * time.Millisecond})
			defer r.Close()
			require.NoError(b, r.Add(logconsume.Rollups()))
			if tree {
				require.NoError(b, r.Add(e.log.Spec()))
			}
			batch := benchBatch(1000, recent)
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				_, err := e.store.Append(ctx, fmt.Sprintf("tenant-%d", i%4), batch)
				require.NoError(b, err)
			}
			took := time.Since(start)
			lag := func() int64 {
				for _, l := range mustLag(b, r) {
					if l.Name == logstore.TreeConsumer || !tree && l.Name == logstore.RollupConsumer {
						return l.Entries
					}
				}
				return -1
			}
			atEnd := lag()
			for lag() != 0 {
				time.Sleep(10 * time.Millisecond)
			}
			b.ReportMetric(float64(b.N*1000)/took.Seconds(), "ingest-entries/s")
			b.ReportMetric(float64(atEnd), "lag-entries")
			b.ReportMetric(time.Since(start.Add(took)).Seconds(), "catch-up-s")
		}
	}
}

func mustLag(b *testing.B, r *logconsume.Runner) []logconsume.Lag {
	ls, err := r.Lag(context.Background(), false)
	require.NoError(b, err)
	return ls
}
