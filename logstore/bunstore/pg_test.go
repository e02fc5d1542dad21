package bunstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstore/bunstore"
)

// openWarm opens a store on a scratch PostgreSQL database (closed with
// the test) and appends one entry to tenant t1, so that the tenant's key
// and the partition of now exist before a test writes rows by hand.
func openWarm(t *testing.T) *bunstore.Store {
	t.Helper()
	ctx := context.Background()
	s, err := bunstore.Open(ctx, testdb.Postgres(t), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.Append(ctx, "t1", []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: "warm-up"}})
	require.NoError(t, err)
	return s
}

// TestPostgresWatermark: a transaction that took its sequence value first
// but commits last must not let a later cursor pass it.
func TestPostgresWatermark(t *testing.T) {
	ctx := context.Background()
	s := openWarm(t)
	var seen []logstore.Record
	var err error
	require.Eventually(t, func() bool {
		seen, err = s.After(ctx, "", logstore.Cursor{}, 100)
		return err == nil && len(seen) == 1
	}, 30*time.Second, 20*time.Millisecond, "the warm-up entry passes the watermark")
	last := seen[0].Cursor

	slow, err := s.DB().BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = slow.ExecContext(ctx, `INSERT INTO log_entries (tenant, id, created_at, level, source, message, metadata, id_at_time)
		SELECT key, gen_random_uuid(), now(), 0, 's', 'slow', '{}', false FROM log_tenants WHERE id = 't1'`)
	require.NoError(t, err)

	fast, err := s.Append(ctx, "t1", []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: "fast"}})
	require.NoError(t, err)

	// The fast entry is committed and visible to queries...
	n, err := s.Count(ctx, "t1", logquery.Filter{}, "")
	require.NoError(t, err)
	assert.EqualValues(t, 2, n)
	// ...but not handed out by cursor while the slow transaction is open.
	recs, err := s.After(ctx, "", last, 100)
	require.NoError(t, err)
	assert.Empty(t, recs, "nothing passes an open transaction's watermark")

	require.NoError(t, slow.Commit())
	require.Eventually(t, func() bool {
		recs, err = s.After(ctx, "", last, 100)
		return err == nil && len(recs) == 2
	}, 30*time.Second, 20*time.Millisecond)
	assert.Equal(t, "slow", recs[0].Entry.Message, "the slow entry comes first: its cursor is lower")
	assert.Equal(t, fast[0].ID, recs[1].Entry.ID)
	assert.True(t, recs[0].Cursor.Less(recs[1].Cursor))
}

// TestPostgresCursorOrderAcrossDigits: the feed is in the numeric order of
// transaction ids where their decimal form grows a digit (9999, then
// 10000). The read once sorted by its output column xid::text, which
// PostgreSQL's ORDER BY prefers to the table's xid: "10000" came before
// "9999", and a reader that took one record at a time skipped 9999.
func TestPostgresCursorOrderAcrossDigits(t *testing.T) {
	ctx := context.Background()
	s := openWarm(t)
	var err error
	// The largest power of ten below every transaction id of the cluster
	// now: ids just below and at it are past the watermark.
	var current uint64
	require.NoError(t, s.DB().QueryRowContext(ctx, "SELECT pg_current_xact_id()::text::bigint").Scan(&current))
	p := uint64(1)
	for p*10 <= current {
		p *= 10
	}
	require.Greater(t, p, uint64(10))
	for i, xid := range []uint64{p - 2, p - 1, p, p + 1} {
		_, err = s.DB().ExecContext(ctx, `INSERT INTO log_entries (tenant, id, created_at, level, source, message, metadata, id_at_time, xid)
			SELECT key, gen_random_uuid(), now(), 0, 's', ?, '{}', false, CAST(? AS xid8) FROM log_tenants WHERE id = 't1'`,
			fmt.Sprint("xid ", i), fmt.Sprint(xid))
		require.NoError(t, err)
	}
	var got []string
	at := logstore.Cursor{Epoch: p - 3}
	for range 10 {
		recs, err := s.After(ctx, "", at, 1)
		require.NoError(t, err)
		if len(recs) == 0 || recs[0].Cursor.Epoch > p+1 {
			break
		}
		got = append(got, recs[0].Entry.Message)
		at = recs[0].Cursor
	}
	assert.Equal(t, []string{"xid 0", "xid 1", "xid 2", "xid 3"}, got, "one record at a time, in the order of the ids %d to %d", p-2, p+1)
	recs, err := s.After(ctx, "", logstore.Cursor{Epoch: p - 3}, 4)
	require.NoError(t, err)
	require.Len(t, recs, 4)
	for i := 1; i < len(recs); i++ {
		assert.True(t, recs[i-1].Cursor.Less(recs[i].Cursor), "records %d and %d in cursor order", i-1, i)
	}
}

// TestPostgresNotifyAcrossStores: an append through one Store wakes a
// watcher of another Store (another process) on the same database.
func TestPostgresNotifyAcrossStores(t *testing.T) {
	ctx := context.Background()
	url := testdb.Postgres(t)
	a, err := bunstore.Open(ctx, url, nil)
	require.NoError(t, err)
	defer a.Close()
	b, err := bunstore.Open(ctx, url, nil)
	require.NoError(t, err)
	defer b.Close()
	ch := b.Watch(ctx)
	// The listener wakes its watchers once LISTEN is in place.
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal("the listener did not start")
	}
	_, err = a.Append(ctx, "t1", []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: "hello"}})
	require.NoError(t, err)
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no NOTIFY wake-up from the other store")
	}
	require.NoError(t, b.Close())
	_, ok := <-ch
	assert.False(t, ok, "Close closes watch channels")
}

func TestOpenRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "mysql://x", "sqlite://"} {
		_, err := bunstore.Open(context.Background(), u, nil)
		assert.ErrorIs(t, err, logs.ErrInvalid, u)
	}
}

// TestPostgresWatermarkIgnoresOtherDatabases: a writing transaction open in
// another database of the cluster does not hold this database's cursors
// back.
func TestPostgresWatermarkIgnoresOtherDatabases(t *testing.T) {
	ctx := context.Background()
	s, err := bunstore.Open(ctx, testdb.Postgres(t), nil)
	require.NoError(t, err)
	defer s.Close()
	other, err := sql.Open("pgx", testdb.Postgres(t))
	require.NoError(t, err)
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	var xid string
	require.NoError(t, tx.QueryRowContext(ctx, "SELECT pg_current_xact_id()::text").Scan(&xid))

	out, err := s.Append(ctx, "t1", []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: "not held back"}})
	require.NoError(t, err)
	// Other tests' transactions in other databases may come and go; none
	// of them may hold the entry back for long, and ours never ends.
	require.Eventually(t, func() bool {
		recs, err := s.After(ctx, "t1", logstore.Cursor{}, 10)
		return err == nil && len(recs) == 1 && recs[0].Entry.ID == out[0].ID
	}, 10*time.Second, 10*time.Millisecond, "the open transaction %s of another database held the watermark", xid)
}

// TestSchemaIsDistributable checks what docs/scale-out.md promises of the
// schema: every key and index of a table distributed by tenant leads with
// the tenant column, but the exceptions it lists; no foreign key at all;
// every table of the service is classified.
func TestSchemaIsDistributable(t *testing.T) {
	ctx := context.Background()
	s, err := bunstore.Open(ctx, testdb.Postgres(t), nil)
	require.NoError(t, err)
	defer s.Close()
	// A partition exists, so its indexes are checked too.
	_, err = s.Append(ctx, "t1", []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: "m"}})
	require.NoError(t, err)
	distributed := map[string]string{ // table -> distribution column
		"log_entries": "tenant", "log_counts_hour": "tenant_id", "log_counts_day": "tenant_id",
		"log_tenant_settings": "tenant_id", "log_purges": "tenant_id", "log_streams": "tenant_id",
		"log_tree_leaves": "tenant", "log_tree_checkpoints": "tenant_id", "log_tree_heads": "tenant_id",
	}
	local := []string{"log_tenants", "log_export_jobs", "log_consumers", "logstream_tickets", "logs_migrations", "logs_migration_locks"}
	exceptions := map[string]bool{"log_entries_by_cursor": true, "log_export_jobs_status_idx": true}

	rows, err := s.DB().QueryContext(ctx, `SELECT c.relname, coalesce(p.relname, c.relname) FROM pg_class c
		LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent
		WHERE c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace`)
	require.NoError(t, err)
	parentOf := map[string]string{}
	for rows.Next() {
		var rel, parent string
		require.NoError(t, rows.Scan(&rel, &parent))
		parentOf[rel] = parent
	}
	require.NoError(t, rows.Err())
	rows.Close()
	for rel, parent := range parentOf {
		_, dist := distributed[parent]
		assert.True(t, dist || slices.Contains(local, parent), "table %s is classified in docs/scale-out.md", rel)
	}

	rows, err = s.DB().QueryContext(ctx, `SELECT t.relname, ix.relname, a.attname
		FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class ix ON ix.oid = x.indexrelid
		LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
		WHERE t.relnamespace = 'public'::regnamespace`)
	require.NoError(t, err)
	checked := 0
	for rows.Next() {
		var table, index string
		var first sql.NullString
		require.NoError(t, rows.Scan(&table, &index, &first))
		parent := parentOf[table]
		col, dist := distributed[parent]
		if !dist {
			continue
		}
		checked++
		base := index
		if table != parent { // a partition's index is named after the partition
			for name := range exceptions {
				if strings.Contains(index, "xid_seq") && name == "log_entries_by_cursor" {
					base = name
				}
			}
		}
		if exceptions[base] {
			continue
		}
		assert.Equal(t, col, first.String, "index %s of %s leads with the tenant", index, table)
	}
	require.NoError(t, rows.Err())
	rows.Close()
	assert.Greater(t, checked, 10)

	var fks int
	require.NoError(t, s.DB().QueryRowContext(ctx, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace").Scan(&fks))
	assert.Zero(t, fks, "no foreign key")
}

// TestPostgresJITOff: the store's sessions run without JIT (compiling cost
// hundreds of milliseconds of a list request on a large tenant), unless the
// database URL asks for it.
func TestPostgresJITOff(t *testing.T) {
	ctx := context.Background()
	url := testdb.Postgres(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	for _, tc := range []struct{ url, want string }{{url, "off"}, {url + sep + "jit=on", "on"}} {
		s, err := bunstore.Open(ctx, tc.url, nil)
		require.NoError(t, err)
		var jit string
		require.NoError(t, s.DB().QueryRowContext(ctx, "SHOW jit").Scan(&jit))
		assert.Equal(t, tc.want, jit, tc.url)
		require.NoError(t, s.Close())
	}
}
