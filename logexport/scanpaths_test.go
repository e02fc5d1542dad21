package logexport_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstore/bunstore"
)

// BenchmarkScanPaths breaks the cost of reading 1,000,000 entries from
// PostgreSQL down by layer (COPY, bunstore Scan, database/sql, pgx native,
// metadata decode), to show where an export's time goes. It runs once:
//
//	go test -run '^$' -bench ScanPaths -benchtime 1x ./logexport
func BenchmarkScanPaths(b *testing.B) {
	t := b
	ctx := context.Background()
	dbURL := testdb.Postgres(t)
	st, err := bunstore.Open(ctx, dbURL, &bunstore.Options{Logger: quietLogger(), NoSearchIndex: true})
	require.NoError(t, err)
	defer st.Close()
	n := 1_000_000
	if s := os.Getenv("LOGEXPORT_BENCH_ROWS"); s != "" {
		n, err = strconv.Atoi(s)
		require.NoError(t, err)
	}
	loadRows(t, st, dbURL, tenantA, n)
	_, err = st.DB().ExecContext(ctx, "ANALYZE log_entries")
	require.NoError(t, err)
	snap, err := st.Snapshot(ctx)
	require.NoError(t, err)
	rate := func(name string, start time.Time, c int) {
		t.Logf("%-60s %7d rows in %6s: %7.0f rows/s", name, c, time.Since(start).Round(time.Millisecond), float64(c)/time.Since(start).Seconds())
	}
	{
		conn, err := pgx.Connect(ctx, dbURL)
		require.NoError(t, err)
		start := time.Now()
		tag, err := conn.PgConn().CopyTo(ctx, io.Discard, `COPY (SELECT e.id, t.id AS tenant_id, e.level, e.source, e.message, e.metadata, e.created_at
			FROM log_entries e JOIN log_tenants t ON t.key = e.tenant WHERE t.id = '`+tenantA+`' ORDER BY e.created_at DESC, e.id DESC) TO STDOUT CSV`)
		require.NoError(t, err)
		rate("pg COPY TO STDOUT CSV", start, int(tag.RowsAffected()))
		conn.Close(ctx)
	}
	for _, sn := range []string{"", string(snap)} {
		start := time.Now()
		c := 0
		for _, err := range st.Scan(ctx, tenantA, logquery.Filter{}, logstore.Snapshot(sn)) {
			require.NoError(t, err)
			c++
		}
		rate("bunstore Scan, snapshot="+map[bool]string{true: "yes", false: "no"}[sn != ""], start, c)
	}
	pgsnap := strings.TrimPrefix(string(snap), "pg:")
	const cols = "id::text, tenant::text, created_at, level::text, source, message, metadata::text"
	const batchSQL = "SELECT " + cols + " FROM log_entries WHERE tenant = (SELECT key FROM log_tenants WHERE id = $1) AND pg_visible_in_snapshot(xid, CAST($4 AS pg_snapshot)) AND (created_at, id) < ($2, $3::uuid) ORDER BY created_at DESC, id DESC LIMIT 2000"
	// database/sql, keyset batches as bunstore does, without JSON decode.
	for _, decode := range []bool{false, true} {
		db, err := sql.Open("pgx", dbURL)
		require.NoError(t, err)
		start := time.Now()
		last, lastID := time.Now().Add(time.Hour), "ffffffff-ffff-ffff-ffff-ffffffffffff"
		c := 0
		for {
			rows, err := db.QueryContext(ctx, batchSQL, tenantA, last, lastID, pgsnap)
			require.NoError(t, err)
			k := 0
			for rows.Next() {
				var id, ten, lv, src, msg, md string
				var ca time.Time
				require.NoError(t, rows.Scan(&id, &ten, &ca, &lv, &src, &msg, &md))
				if decode {
					var m map[string]any
					dec := json.NewDecoder(strings.NewReader(md))
					dec.UseNumber()
					require.NoError(t, dec.Decode(&m))
				}
				last, lastID = ca, id
				k++
			}
			require.NoError(t, rows.Err())
			rows.Close()
			c += k
			if k < 2000 {
				break
			}
		}
		rate(map[bool]string{false: "database/sql batches of 2000, metadata as text", true: "database/sql batches of 2000, + metadata JSON decode (= Scan)"}[decode], start, c)
		db.Close()
	}
	// pgx native: batches, and one query.
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, batch := range []int{2000, 10000} {
		start := time.Now()
		last, lastID := time.Now().Add(time.Hour), "ffffffff-ffff-ffff-ffff-ffffffffffff"
		c := 0
		q := strings.Replace(batchSQL, "LIMIT 2000", fmt.Sprintf("LIMIT %d", batch), 1)
		for {
			rows, err := conn.Query(ctx, q, tenantA, last, lastID, pgsnap)
			require.NoError(t, err)
			k := 0
			for rows.Next() {
				var id, ten, lv, src, msg string
				var md []byte
				var ca time.Time
				require.NoError(t, rows.Scan(&id, &ten, &ca, &lv, &src, &msg, &md))
				last, lastID = ca, id
				k++
			}
			require.NoError(t, rows.Err())
			c += k
			if k < batch {
				break
			}
		}
		rate(fmt.Sprintf("pgx native batches of %d, metadata as bytes", batch), start, c)
	}
	{
		start := time.Now()
		rows, err := conn.Query(ctx, "SELECT "+cols+" FROM log_entries WHERE tenant = (SELECT key FROM log_tenants WHERE id = $1) AND pg_visible_in_snapshot(xid, CAST($2 AS pg_snapshot)) ORDER BY created_at DESC, id DESC", tenantA, pgsnap)
		require.NoError(t, err)
		c := 0
		for rows.Next() {
			var id, ten, lv, src, msg string
			var md []byte
			var ca time.Time
			require.NoError(t, rows.Scan(&id, &ten, &ca, &lv, &src, &msg, &md))
			c++
		}
		require.NoError(t, rows.Err())
		rate("pgx native, one streaming query, metadata as bytes", start, c)
	}
	{
		start := time.Now()
		rows, err := conn.Query(ctx, "SELECT "+cols+" FROM log_entries WHERE tenant = (SELECT key FROM log_tenants WHERE id = $1) AND pg_visible_in_snapshot(xid, CAST($2 AS pg_snapshot)) ORDER BY created_at DESC, id DESC", tenantA, pgsnap)
		require.NoError(t, err)
		c := 0
		for rows.Next() {
			var id, ten, lv, src, msg string
			var md []byte
			var ca time.Time
			require.NoError(t, rows.Scan(&id, &ten, &ca, &lv, &src, &msg, &md))
			var m map[string]any
			dec := json.NewDecoder(strings.NewReader(string(md)))
			dec.UseNumber()
			require.NoError(t, dec.Decode(&m))
			c++
		}
		require.NoError(t, rows.Err())
		rate("pgx native, one streaming query, + metadata JSON decode", start, c)
	}
	{
		// An upper bound for the export with a raw-metadata scan: pgx native,
		// one query, metadata text written as it is, CSV into a buffered
		// discard writer.
		start := time.Now()
		rows, err := conn.Query(ctx, "SELECT "+cols+" FROM log_entries WHERE tenant = (SELECT key FROM log_tenants WHERE id = $1) AND pg_visible_in_snapshot(xid, CAST($2 AS pg_snapshot)) ORDER BY created_at DESC, id DESC", tenantA, pgsnap)
		require.NoError(t, err)
		w := csv.NewWriter(bufio.NewWriterSize(io.Discard, 1<<20))
		rec := make([]string, 7)
		c := 0
		for rows.Next() {
			var md []byte
			var ca time.Time
			require.NoError(t, rows.Scan(&rec[0], &rec[1], &ca, &rec[2], &rec[3], &rec[4], &md))
			rec[5] = string(md)
			rec[6] = ca.UTC().Format(time.RFC3339Nano)
			require.NoError(t, w.Write(rec))
			c++
		}
		require.NoError(t, rows.Err())
		w.Flush()
		rate("pgx native, one query, + CSV with raw metadata (upper bound)", start, c)
	}
	var plan []string
	rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+batchSQL, tenantA, time.Now().Add(-time.Hour-300*time.Second), "ffffffff-ffff-ffff-ffff-ffffffffffff", pgsnap)
	require.NoError(t, err)
	for rows.Next() {
		var l string
		require.NoError(t, rows.Scan(&l))
		plan = append(plan, l)
	}
	t.Log("\n" + strings.Join(plan, "\n"))
}
