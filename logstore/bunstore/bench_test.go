package bunstore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore/bunstore"
)

func benchEntries(n int, at time.Time) []logs.Entry {
	levels := []logs.Level{logs.LevelInfo, logs.LevelInfo, logs.LevelInfo, logs.LevelWarn, logs.LevelError}
	sources := []string{"auth", "admin", "idp", "scim"}
	es := make([]logs.Entry, n)
	for i := range es {
		es[i] = logs.Entry{Level: levels[i%len(levels)], Source: sources[i%len(sources)],
			Message:   fmt.Sprintf("Failed login attempt %d — invalid credentials for user %d", i, i%997),
			Metadata:  map[string]any{"userId": fmt.Sprintf("u%d", i%997), "ip": "102.45.67.89"},
			CreatedAt: at.Add(-time.Duration(i) * time.Millisecond)}
	}
	return es
}

// BenchmarkAppend measures ingest: batches of 1,000 entries; it reports
// entries per second.
func BenchmarkAppend(b *testing.B) {
	for _, backend := range testdb.Backends() {
		b.Run(backend, func(b *testing.B) {
			s, err := bunstore.Open(context.Background(), testdb.URL(b, backend), nil)
			require.NoError(b, err)
			defer s.Close()
			batch := benchEntries(1000, time.Now())
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := s.Append(context.Background(), "bench", batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "entries/s")
		})
	}
}

// BenchmarkAppendConcurrent measures many small appends at once: 64
// goroutines appending one entry each, as many HTTP clients sending one
// entry per request; the store groups them into shared transactions. It
// reports appends per second.
func BenchmarkAppendConcurrent(b *testing.B) {
	for _, backend := range testdb.Backends() {
		b.Run(backend, func(b *testing.B) {
			s, err := bunstore.Open(context.Background(), testdb.URL(b, backend), &bunstore.Options{NoSearchIndex: true})
			require.NoError(b, err)
			defer s.Close()
			one := benchEntries(1, time.Now())
			b.SetParallelism(32) // 64 goroutines on 2 cores
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Append(context.Background(), "bench", one); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
		})
	}
}

// BenchmarkQuery measures list requests on a large tenant (LOGS_BENCH_ROWS
// entries, default 200,000, beside a second tenant of the same size):
// page 1, a deep page, a level filter and a search, each with its total.
func BenchmarkQuery(b *testing.B) {
	rows := 200_000
	if v, err := strconv.Atoi(os.Getenv("LOGS_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	for _, backend := range testdb.Backends() {
		b.Run(backend, func(b *testing.B) {
			ctx := context.Background()
			s, err := bunstore.Open(ctx, testdb.URL(b, backend), nil)
			require.NoError(b, err)
			defer s.Close()
			load := time.Now()
			now := time.Now()
			var wg sync.WaitGroup
			for _, tenant := range []string{"big", "other"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for done := 0; done < rows; done += 5000 {
						es := benchEntries(min(5000, rows-done), now.Add(-time.Duration(done)*time.Millisecond))
						if _, err := s.Append(ctx, tenant, es); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			fmt.Printf("%s: loaded %d entries in %s (%.0f entries/s)\n", backend, 2*rows, time.Since(load).Round(time.Millisecond), float64(2*rows)/time.Since(load).Seconds())
			if s.Dialect() == "pg" {
				_, err := s.DB().ExecContext(ctx, "VACUUM (ANALYZE) log_entries")
				require.NoError(b, err)
			}
			for _, c := range []struct {
				name string
				f    logquery.Filter
			}{
				{"page1", logquery.Filter{}},
				{"page1000", logquery.Filter{Page: 1000}},
				{"level=error", logquery.Filter{Level: logs.LevelError}},
				{"source+level", logquery.Filter{Source: "idp", Level: logs.LevelWarn}},
				{"search", logquery.Filter{Search: "\"user 421\" invalid"}},
				{"lastHour", logquery.Filter{Start: now.Add(-time.Hour)}},
			} {
				b.Run(c.name, func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						if _, err := s.Query(ctx, "big", c.f); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
