package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

// treeLeaves are the leaves of entries es appended to a tree of size
// from, with tlog's stored hashes of the records []byte(id) (r reads the
// hashes of the tree so far, stored is extended).
func treeLeaves(t *testing.T, es []logs.Entry, from int64, stored *[]tlog.Hash) []logstore.TreeLeaf {
	t.Helper()
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = (*stored)[x]
		}
		return out, nil
	})
	var out []logstore.TreeLeaf
	for i, e := range es {
		n := from + int64(i)
		hs, err := tlog.StoredHashes(n, []byte(e.ID), r)
		require.NoError(t, err)
		*stored = append(*stored, hs...)
		l := logstore.TreeLeaf{Index: n, ID: e.ID, CreatedAt: e.CreatedAt}
		for _, h := range hs {
			l.Hashes = append(l.Hashes, h)
		}
		out = append(out, l)
	}
	return out
}

func testTrees(t *testing.T, h Harness) {
	if h.Trees == nil || h.Consumers == nil {
		t.Skip("the store keeps no trees")
	}
	c := ctx(t)
	tr := h.Trees
	now := time.Now().UTC().Truncate(time.Microsecond)
	e1 := appendAll(t, h.Store, "t1", entry(logs.LevelInfo, "s", "a", base), entry(logs.LevelInfo, "s", "b", base),
		entry(logs.LevelWarn, "s", "c", base.Add(time.Hour)), entry(logs.LevelInfo, "s", "d", base), entry(logs.LevelInfo, "s", "e", base))
	e2 := appendAll(t, h.Store, "t2", entry(logs.LevelInfo, "s", "x", base), entry(logs.LevelInfo, "s", "y", base))
	recs := after(t, h.Store, "", logstore.Cursor{}, 100, 7)
	cp := recs[len(recs)-1].Cursor

	head, err := tr.TreeHead(c, "t1")
	require.NoError(t, err)
	assert.Equal(t, logstore.TreeHead{Tenant: "t1"}, head, "no tree reads as an empty one")

	_, ok, err := h.Consumers.ClaimConsumer(c, logstore.TreeConsumer, "w", logstore.Cursor{}, now, now.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	var s1, s2 []tlog.Hash
	l1 := treeLeaves(t, e1, 0, &s1)
	l2 := treeLeaves(t, e2, 0, &s2)

	// A tree that does not have From leaves refuses the effect, and
	// nothing of the transaction is applied.
	_, err = h.Consumers.AdvanceConsumer(c, logstore.TreeConsumer, "w", logstore.Cursor{}, cp, now,
		logstore.TreeEffect{Tenant: "t2", From: 0, Leaves: l2}, logstore.TreeEffect{Tenant: "t1", From: 3, Leaves: l1})
	require.ErrorIs(t, err, logs.ErrConflict)
	head, err = tr.TreeHead(c, "t2")
	require.NoError(t, err)
	assert.Zero(t, head.Size, "the transaction is rolled back whole")

	ok, err = h.Consumers.AdvanceConsumer(c, logstore.TreeConsumer, "w", logstore.Cursor{}, cp, now,
		logstore.TreeEffect{Tenant: "t1", From: 0, Leaves: l1[:3]}, logstore.TreeEffect{Tenant: "t2", From: 0, Leaves: l2},
		logstore.TreeEffect{Tenant: "t1", From: 3, Leaves: l1[3:]})
	require.NoError(t, err)
	require.True(t, ok)
	head, err = tr.TreeHead(c, "t1")
	require.NoError(t, err)
	assert.EqualValues(t, 5, head.Size)

	idx := make([]int64, tlog.StoredHashCount(5))
	for i := range idx {
		idx[i] = int64(len(idx) - 1 - i) // in any order
	}
	got, err := tr.TreeHashes(c, "t1", idx)
	require.NoError(t, err)
	for i, x := range idx {
		assert.Equal(t, s1[x], tlog.Hash(got[i]), "stored hash %d", x)
	}
	_, err = tr.TreeHashes(c, "t1", []int64{tlog.StoredHashCount(5)})
	assert.ErrorIs(t, err, logs.ErrNotFound, "a hash the tree does not have")
	_, err = tr.TreeHashes(c, "t2", []int64{tlog.StoredHashIndex(0, 4)})
	assert.ErrorIs(t, err, logs.ErrNotFound, "t2 has no fifth leaf; t1's is not its")
	_, err = tr.TreeHashes(c, "nobody", []int64{0})
	assert.ErrorIs(t, err, logs.ErrNotFound)
	th, err := tlog.TreeHash(5, tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		hs, err := tr.TreeHashes(c, "t1", ix)
		out := make([]tlog.Hash, len(hs))
		for i := range hs {
			out[i] = hs[i]
		}
		return out, err
	}))
	require.NoError(t, err)
	want, err := tlog.TreeHash(5, tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ix))
		for i, x := range ix {
			out[i] = s1[x]
		}
		return out, nil
	}))
	require.NoError(t, err)
	assert.Equal(t, want, th)

	leaves, err := tr.TreeLeaves(c, "t1", 2, 2)
	require.NoError(t, err)
	require.Len(t, leaves, 2)
	assert.Equal(t, l1[2], leaves[0])
	assert.Equal(t, l1[3], leaves[1])
	leaves, err = tr.TreeLeaves(c, "nobody", 0, 2)
	require.NoError(t, err)
	assert.Empty(t, leaves)
	l, err := tr.TreeLeafByID(c, "t1", e1[4].ID)
	require.NoError(t, err)
	assert.Equal(t, l1[4], l)
	for _, id := range []string{e2[0].ID, "x", "", "0000000000000000000000000000000000000000000'"} {
		_, err = tr.TreeLeafByID(c, "t1", id)
		assert.ErrorIs(t, err, logs.ErrNotFound, id)
	}

	es, err := tr.TreeEntries(c, "t1", []string{e1[0].ID, e1[2].ID, e2[0].ID, "junk"})
	require.NoError(t, err)
	require.Len(t, es, 2, "only the tenant's own")
	assert.Equal(t, "c", es[e1[2].ID].Message)

	// Checkpoints: stored once, by tenant and size.
	cp1 := logstore.TreeCheckpoint{Tenant: "t1", Size: 5, Root: want, Time: now, Note: []byte("note 1\n")}
	ok, err = h.Consumers.AdvanceConsumer(c, logstore.TreeConsumer, "w", cp, cp, now, logstore.CheckpointEffect{Checkpoint: cp1})
	require.NoError(t, err)
	require.True(t, ok)
	again := cp1
	again.Note = []byte("note 2\n")
	ok, err = h.Consumers.AdvanceConsumer(c, logstore.TreeConsumer, "w", cp, cp, now, logstore.CheckpointEffect{Checkpoint: again})
	require.NoError(t, err)
	require.True(t, ok)
	gotCp, err := tr.TreeCheckpoint(c, "t1", 5)
	require.NoError(t, err)
	assert.Equal(t, cp1, gotCp, "the first checkpoint of a size stays")
	_, err = tr.TreeCheckpoint(c, "t2", 5)
	assert.ErrorIs(t, err, logs.ErrNotFound)
	cps, err := tr.TreeCheckpoints(c, "t1", 0, 10)
	require.NoError(t, err)
	assert.Equal(t, []logstore.TreeCheckpoint{cp1}, cps)
	cps, err = tr.TreeCheckpoints(c, "t1", 5, 10)
	require.NoError(t, err)
	assert.Empty(t, cps, "below size 5")
	cps, err = tr.TreeCheckpoints(c, "t2", 0, 10)
	require.NoError(t, err)
	assert.Empty(t, cps)

	due, err := tr.DueTreeHeads(c, 100, now.Add(-time.Hour), 10)
	require.NoError(t, err)
	assert.Equal(t, []logstore.TreeHead{
		{Tenant: "t1", Size: 5, CheckpointSize: 5, CheckpointAt: now},
		{Tenant: "t2", Size: 2},
	}, due, "t1 to publish, t2 never signed")
	require.NoError(t, tr.SetTreePublished(c, "t1", 5))
	require.NoError(t, tr.SetTreePublished(c, "t1", 3))
	head, err = tr.TreeHead(c, "t1")
	require.NoError(t, err)
	assert.EqualValues(t, 5, head.PublishedSize, "the published size never goes back")
	due, err = tr.DueTreeHeads(c, 100, now.Add(-time.Hour), 10)
	require.NoError(t, err)
	assert.Equal(t, []logstore.TreeHead{{Tenant: "t2", Size: 2}}, due)

	// An entry the consumer passed without a leaf is found.
	id, err := tr.Untreed(c, "t1", cp, time.Time{}, time.Time{})
	require.NoError(t, err)
	assert.Empty(t, id)
	late := appendAll(t, h.Store, "t1", entry(logs.LevelInfo, "s", "late", base))
	lateRecs := after(t, h.Store, "t1", cp, 10, 1)
	id, err = tr.Untreed(c, "t1", cp, time.Time{}, time.Time{})
	require.NoError(t, err)
	assert.Empty(t, id, "beyond the consumer's checkpoint is lag, not a gap")
	id, err = tr.Untreed(c, "t1", lateRecs[0].Cursor, time.Time{}, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, late[0].ID, id)
	id, err = tr.Untreed(c, "t1", lateRecs[0].Cursor, base.Add(time.Minute), time.Time{})
	require.NoError(t, err)
	assert.Empty(t, id, "outside the range")

	// The tree is as immutable as the log.
	for _, q := range []string{"UPDATE log_tree_leaves SET created_at = 0", "DELETE FROM log_tree_leaves",
		"UPDATE log_tree_checkpoints SET note = 'x'", "DELETE FROM log_tree_checkpoints"} {
		assert.Error(t, h.Exec(c, q), q)
	}
	leaves, err = tr.TreeLeaves(c, "t1", 0, 100)
	require.NoError(t, err)
	assert.Equal(t, l1, leaves)
}
