package logexport_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logexport"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstore/bunstore"
)

// BenchmarkExport exports LOGEXPORT_BENCH_ROWS (default 1,000,000) entries
// of one tenant from PostgreSQL, beside PostgreSQL's own COPY ... TO STDOUT
// CSV of the same rows in the same order. Each figure is one export:
//
//	LOGEXPORT_BENCH_ROWS=1000000 go test -run '^$' -bench Export -benchtime 1x ./logexport
//
// It prints rows/s and the peak Go heap during the export; the process's
// peak RSS is printed at the end.
func BenchmarkExport(b *testing.B) {
	rows := 1_000_000
	if s := os.Getenv("LOGEXPORT_BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(b, err)
		rows = n
	}
	ctx := context.Background()
	dbURL := testdb.Postgres(b)
	st, err := bunstore.Open(ctx, dbURL, &bunstore.Options{Logger: quietLogger(), NoSearchIndex: true})
	require.NoError(b, err)
	b.Cleanup(func() { _ = st.Close() })

	t0 := time.Now()
	loadRows(b, st, dbURL, tenantA, rows)
	// A second tenant, so that the export has to select.
	loadRows(b, st, dbURL, tenantB, rows/10)
	_, err = st.DB().ExecContext(ctx, "ANALYZE log_entries")
	require.NoError(b, err)
	b.Logf("loaded %d rows in %s", rows+rows/10, time.Since(t0).Round(time.Millisecond))

	rawCopy := func() int64 {
		conn, err := pgx.Connect(ctx, dbURL)
		require.NoError(b, err)
		defer conn.Close(ctx)
		tag, err := conn.PgConn().CopyTo(ctx, io.Discard, `COPY (SELECT e.id, t.id AS tenant_id, CASE e.level WHEN 0 THEN 'info' WHEN 1 THEN 'warn' ELSE 'error' END,
			e.source, e.message, e.metadata, e.created_at FROM log_entries e JOIN log_tenants t ON t.key = e.tenant
			WHERE t.id = '`+tenantA+`' ORDER BY e.created_at DESC, e.id DESC) TO STDOUT CSV HEADER`)
		require.NoError(b, err)
		return tag.RowsAffected()
	}
	var copyRate float64
	b.Run("pg-copy-csv", func(b *testing.B) {
		for range b.N {
			start := time.Now()
			n := rawCopy()
			require.EqualValues(b, rows, n)
			copyRate = float64(n) / time.Since(start).Seconds()
			b.ReportMetric(copyRate, "rows/s")
		}
	})

	// The store alone: what the export cannot be faster than.
	b.Run("store-scan-only", func(b *testing.B) {
		snap, err := st.Snapshot(ctx)
		require.NoError(b, err)
		for range b.N {
			start := time.Now()
			n := 0
			for _, err := range st.Scan(ctx, tenantA, logquery.Filter{}, snap) {
				require.NoError(b, err)
				n++
			}
			require.Equal(b, rows, n)
			rate := float64(n) / time.Since(start).Seconds()
			b.ReportMetric(rate, "rows/s")
			b.ReportMetric(100*rate/copyRate, "%-of-pg-copy")
		}
	})

	// The export's own path (raw scan and encoder) into io.Discard, like the
	// COPY above: the export figures below add writing the file.
	// csv-std is csv written by encoding/csv instead of the export's own
	// encoder (BenchmarkEncodeCSV compares them alone).
	variants := []struct {
		name   string
		format logexport.Format
		csv    string
	}{{"csv", logexport.FormatCSV, "hand-written"}, {"csv-std", logexport.FormatCSV, "encoding/csv"}, {"json", logexport.FormatJSON, "hand-written"}}
	for _, v := range variants {
		format := v.format
		b.Run(v.name+"-to-discard", func(b *testing.B) {
			defer logexport.UseCSVEncoder(v.csv)()
			snap, err := st.Snapshot(ctx)
			require.NoError(b, err)
			for range b.N {
				enc := logexport.NewTestRawEncoder(format, io.Discard)
				start := time.Now()
				n := 0
				for r, err := range st.ScanRaw(ctx, tenantA, logquery.Filter{}, snap) {
					require.NoError(b, err)
					require.NoError(b, enc(&r))
					n++
				}
				require.Equal(b, rows, n)
				rate := float64(n) / time.Since(start).Seconds()
				b.ReportMetric(rate, "rows/s")
				b.ReportMetric(100*rate/copyRate, "%-of-pg-copy")
			}
		})
	}

	for _, v := range variants {
		format := v.format
		b.Run(v.name, func(b *testing.B) {
			defer logexport.UseCSVEncoder(v.csv)()
			bucket, err := logexport.OpenBucket(ctx, "file://"+b.TempDir())
			require.NoError(b, err)
			defer bucket.Close()
			signer, err := logexport.NewFileSigner("http://127.0.0.1:1", testSecret)
			require.NoError(b, err)
			e, err := logexport.New(st, st, bucket, &logexport.Options{Logger: quietLogger(), Signer: signer})
			require.NoError(b, err)
			var peak atomic.Uint64
			logexport.SetRowHook(e, func(_ context.Context, n int64) {
				if n%20000 == 0 {
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					if ms.HeapAlloc > peak.Load() {
						peak.Store(ms.HeapAlloc)
					}
				}
			})
			for range b.N {
				runtime.GC()
				start := time.Now()
				j, err := e.Submit(ctx, tenantA, format, logquery.Filter{})
				require.NoError(b, err)
				submitted := time.Since(start)
				ran, err := logexport.RunOnce(ctx, e)
				require.NoError(b, err)
				require.True(b, ran)
				elapsed := time.Since(start)
				j, err = e.Get(ctx, tenantA, j.ID)
				require.NoError(b, err)
				require.Equal(b, logexport.StatusReady, j.Status, j.Error)
				require.EqualValues(b, rows, j.Records)
				attrs, err := bucket.Attributes(ctx, logexport.BlobKey(tenantA, j.ID, format))
				require.NoError(b, err)
				rate := float64(rows) / elapsed.Seconds()
				b.ReportMetric(rate, "rows/s")
				b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
				b.ReportMetric(100*rate/copyRate, "%-of-pg-copy")
				b.Logf("%s: %d rows, %d MB in %s (submit+count %s): %.0f rows/s, %.0f%% of COPY; peak heap %d MB",
					format, rows, attrs.Size>>20, elapsed.Round(time.Millisecond), submitted.Round(time.Millisecond),
					rate, 100*rate/copyRate, peak.Load()>>20)
			}
		})
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.Logf("process peak RSS %d MB (includes loading the data)", ru.Maxrss>>10)
	}
}

// loadRows writes n entries of tenant through Append in batches of
// 10,000 (which the store writes with COPY): messages and metadata like the
// API document's examples.
func loadRows(tb testing.TB, st *bunstore.Store, dbURL, tenant string, n int) {
	tb.Helper()
	ctx := context.Background()
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
	levels := []logs.Level{logs.LevelInfo, logs.LevelWarn, logs.LevelError}
	sources := []string{"auth", "admin", "idp", "scim"}
	msgs := []string{
		"Failed login attempt — invalid credentials",
		"MFA verification failed — TOTP code expired",
		"OIDC token introspection failed — provider unreachable",
		"Session refresh attempted with expired refresh token",
	}
	batch := make([]logs.Entry, 0, 10_000)
	for i := 0; i < n; i++ {
		batch = append(batch, logs.Entry{Level: levels[i%3], Source: sources[i%4], Message: msgs[i%len(msgs)],
			Metadata: map[string]any{"userId": fmt.Sprintf("u%08d", i), "email": fmt.Sprintf("user%d@example.com", i%1000),
				"ip": fmt.Sprintf("102.45.67.%d", i%256), "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"},
			CreatedAt: base.Add(-time.Duration(i) * time.Millisecond)})
		if len(batch) == cap(batch) || i == n-1 {
			_, err := st.Append(ctx, tenant, batch)
			require.NoError(tb, err)
			batch = batch[:0]
		}
	}
}

// BenchmarkEncode measures the encoders alone on entries in memory (like
// the benchmark's rows), writing into a discarding writer: the CPU per row
// that the export adds to the store's Scan.
func BenchmarkEncode(b *testing.B) {
	es := make([]logs.Entry, 1000)
	for i := range es {
		es[i] = logs.Entry{
			ID: uuid.NewString(), TenantID: tenantA, Level: logs.LevelError, Source: "auth",
			Message: "Failed login attempt — invalid credentials",
			Metadata: map[string]any{"userId": fmt.Sprintf("u%08d", i), "email": "user@example.com",
				"ip": "102.45.67.89", "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"},
			CreatedAt: time.Now().UTC(),
		}
	}
	for _, f := range []logexport.Format{logexport.FormatCSV, logexport.FormatJSON, logexport.FormatNDJSON} {
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			enc := logexport.NewTestEncoder(f, io.Discard)
			b.ResetTimer()
			for i := range b.N {
				if err := enc(&es[i%len(es)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeCSV compares the csv encoder of the export (hand-written,
// one pass into the buffered writer) with the same file written by
// encoding/csv, on entries as the store's raw scan yields them (metadata
// already JSON), into a discarding writer:
//
//	go test -run '^$' -bench EncodeCSV ./logexport
//
// It reports rows/s, and MB/s of CSV written.
func BenchmarkEncodeCSV(b *testing.B) {
	rs := make([]logstore.RawEntry, 1000)
	for i := range rs {
		md, err := logs.EncodeMetadata(map[string]any{"userId": fmt.Sprintf("u%08d", i), "email": "user@example.com",
			"ip": "102.45.67.89", "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"})
		require.NoError(b, err)
		rs[i] = logstore.RawEntry{Entry: logs.Entry{
			ID: uuid.NewString(), TenantID: tenantA, Level: logs.LevelError, Source: "auth",
			Message:   "Failed login attempt — invalid credentials, user \"u1\"",
			CreatedAt: time.Now().UTC().Add(-time.Duration(i) * time.Millisecond),
		}, Metadata: md}
	}
	encoders := logexport.CSVEncoders()
	for _, name := range []string{"hand-written", "encoding/csv"} {
		b.Run(name, func(b *testing.B) {
			var size countingWriter
			enc, done := encoders[name](&size)
			for i := range rs {
				require.NoError(b, enc(&rs[i]))
			}
			require.NoError(b, done())
			b.SetBytes(size.n / int64(len(rs)))
			b.ReportAllocs()
			enc, done = encoders[name](io.Discard)
			b.ResetTimer()
			for i := range b.N {
				if err := enc(&rs[i%len(rs)]); err != nil {
					b.Fatal(err)
				}
			}
			require.NoError(b, done())
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}
