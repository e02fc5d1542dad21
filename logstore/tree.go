package logstore

import (
	"context"
	"time"

	"github.com/ithbat/logs"
)

// TreeConsumer is the name of the consumer that appends every entry, in
// cursor order, as a leaf of its tenant's Merkle tree (package logtree).
const TreeConsumer = "tlog"

// TreeLeaf is one leaf of a tenant's Merkle tree as stored: the entry it
// was made from, and the hashes the tree keeps at it.
type TreeLeaf struct {
	// Index is the leaf's place in its tenant's tree, from 0.
	Index     int64
	ID        string    // the entry's id
	CreatedAt time.Time // the entry's createdAt, for ranges and retention
	// Digest is the SHA-256 of the entry's canonical JSON. The leaf hash
	// is made of CreatedAt and Digest (package logtree), so that a leaf's
	// time is checked against the signed tree without its entry (one past
	// its retention, purged).
	Digest [32]byte
	// Hashes are the stored hashes of golang.org/x/mod/sumdb/tlog that
	// this leaf completes, in the order tlog.StoredHashes returns them:
	// the leaf's own hash (level 0) first, then the hash of each subtree
	// it completes, level by level. Their stored-hash indexes are
	// tlog.StoredHashIndex(level, Index>>level).
	Hashes [][32]byte
}

// TreeCheckpoint is a signed checkpoint of a tenant's tree: its size and
// root hash at a time, with the signed note that says so.
type TreeCheckpoint struct {
	Tenant string
	Size   int64
	Root   [32]byte
	Time   time.Time
	// Note is the signed note (golang.org/x/mod/sumdb/note) in the C2SP
	// checkpoint form, as it is written to the bucket.
	Note []byte
}

// TreeHead is the state of a tenant's tree: its size, its latest
// checkpoint's size and time, and up to which size checkpoints were
// copied to the bucket. It is bookkeeping that proofs and verification
// never trust.
type TreeHead struct {
	Tenant         string
	Size           int64
	CheckpointSize int64
	CheckpointAt   time.Time
	PublishedSize  int64
}

// TreeEffect appends leaves to Tenant's tree, which has From leaves, in the
// transaction that moves the TreeConsumer's checkpoint over their entries.
// The leaves are numbered From, From+1, ...; a tree that does not have
// exactly From leaves is an error (wrapping logs.ErrConflict) and nothing
// is applied.
type TreeEffect struct {
	Tenant string
	From   int64
	Leaves []TreeLeaf
}

func (TreeEffect) effect() {}

// CheckpointEffect stores a signed checkpoint (once: a checkpoint of that
// tenant and size that exists is left as it is) and records it in the
// tenant's TreeHead.
type CheckpointEffect struct{ Checkpoint TreeCheckpoint }

func (CheckpointEffect) effect() {}

// Trees keeps the Merkle trees of the verifiable log (package logtree): per
// tenant, the leaves in order with the hashes of golang.org/x/mod/sumdb/tlog,
// and the signed checkpoints. Leaves and checkpoints are only ever
// inserted, through TreeEffect and CheckpointEffect, by the TreeConsumer.
//
// A tenant with no tree reads as an empty one (size 0, no leaves, no
// checkpoints), never as an error. No method returns another tenant's
// leaves, hashes or checkpoints.
type Trees interface {
	// TreeHead returns tenant's head (the zero TreeHead, with Tenant set,
	// when it has no tree).
	TreeHead(ctx context.Context, tenant string) (TreeHead, error)

	// TreeHashes returns the stored hashes of tenant's tree at the
	// stored-hash indexes of tlog (tlog.StoredHashIndex), in the order
	// asked. An index the tree does not have (yet) is an error wrapping
	// logs.ErrNotFound.
	TreeHashes(ctx context.Context, tenant string, indexes []int64) ([][32]byte, error)

	// TreeLeaves returns up to limit leaves of tenant's tree from index
	// from on, in index order. A missing leaf is skipped: the caller sees
	// the gap in the indexes.
	TreeLeaves(ctx context.Context, tenant string, from int64, limit int) ([]TreeLeaf, error)

	// TreeLeafByID returns the leaf of tenant's entry id, or an error
	// wrapping logs.ErrNotFound when the tree has none.
	TreeLeafByID(ctx context.Context, tenant, id string) (TreeLeaf, error)

	// TreeCheckpoints returns up to limit of tenant's checkpoints with a
	// size below before (0: all), largest first.
	TreeCheckpoints(ctx context.Context, tenant string, before int64, limit int) ([]TreeCheckpoint, error)

	// TreeCheckpoint returns tenant's checkpoint of size, or an error
	// wrapping logs.ErrNotFound.
	TreeCheckpoint(ctx context.Context, tenant string, size int64) (TreeCheckpoint, error)

	// DueTreeHeads returns up to limit heads of trees that grew beyond
	// their latest checkpoint by at least grown leaves, or at all when
	// that checkpoint is from before stale (or there is none), and of
	// trees with checkpoints not yet published (PublishedSize below
	// CheckpointSize).
	DueTreeHeads(ctx context.Context, grown int64, stale time.Time, limit int) ([]TreeHead, error)

	// SetTreePublished records that tenant's checkpoints up to size are
	// in the bucket. It never lowers the published size.
	SetTreePublished(ctx context.Context, tenant string, size int64) error

	// TreeEntries returns those of tenant's entries with the given ids
	// that the database has, by id, whatever the retention says (a purge
	// removes entries; the caller tells purged from missing).
	TreeEntries(ctx context.Context, tenant string, ids []string) (map[string]logs.Entry, error)

	// Untreed returns the id of one of tenant's entries with a cursor at
	// or before upTo and createdAt within [start, end] (zero: open) that
	// has no leaf in tenant's tree ("" when there is none): an entry that
	// the TreeConsumer has passed but that is not in the tree.
	Untreed(ctx context.Context, tenant string, upTo Cursor, start, end time.Time) (string, error)
}
