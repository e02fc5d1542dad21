package bunstore_test

import (
	"context"
	"database/sql"
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

// TestPostgresWatermark: a transaction that took its sequence value first
// but commits last must not let a later cursor pass it.
func TestPostgresWatermark(t *testing.T) {
	ctx := context.Background()
	s, err := bunstore.Open(ctx, testdb.Postgres(t), nil)
	require.NoError(t, err)
	defer s.Close()
	// Make sure the partition exists before the manual transaction.
	_, err = s.Append(ctx, "t1", []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: "warm-up"}})
	require.NoError(t, err)
	var seen []logstore.Record
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
