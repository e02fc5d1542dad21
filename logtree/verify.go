package logtree

import (
	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

// VerifyOptions narrow a verification.
type VerifyOptions struct {
	// Start and End, when set, limit the entries whose content is checked
	// to those created within [Start, End]. The tree is walked whole
	// anyway (its stored leaf hashes stand in for the other entries), so
	// every checkpoint is still checked.
	Start, End time.Time
	// Checkpoints are more signed notes to check the tree against, such as
	// the copies in the bucket (BucketCheckpoints), besides the
	// database's own and those in Options.Bucket.
	Checkpoints [][]byte
}

// The reasons of a Failure.
const (
	// The entry's content no longer hashes to its leaf.
	ReasonChanged = "changed"
	// The entry of a leaf is not in the database (and not past its
	// retention).
	ReasonMissingEntry = "missing_from_database"
	// An entry that the consumer passed is not in the tree.
	ReasonMissingLeaf = "missing_from_tree"
	// The tree lacks a leaf, or has a leaf out of place.
	ReasonTreeGap = "tree_gap"
	// The tree is not the one a signed checkpoint commits to.
	ReasonCheckpoint = "inconsistent_with_checkpoint"
	// A stored checkpoint's signature or form is not valid.
	ReasonBadCheckpoint = "bad_checkpoint"
	// The tree's stored hashes disagree with its leaves (proofs would
	// fail).
	ReasonStoredHash = "stored_hash"
)

// Failure is the first thing that verification found wrong.
type Failure struct {
	Reason string `json:"reason"`
	// ID is the entry concerned, LeafIndex its leaf (nil when none).
	ID        string `json:"id,omitempty"`
	LeafIndex *int64 `json:"leafIndex,omitempty"`
	// Candidates, when set, are the entries of which one was changed
	// when the signed checkpoint cannot tell which: two neighbours whose
	// leaf hashes were both rewritten or one of them (see the package doc).
	Candidates []string `json:"candidates,omitempty"`
	// TreeSize is the size of the checkpoint concerned, if any.
	TreeSize int64  `json:"treeSize,omitempty"`
	Message  string `json:"message"`
}

// Report is the outcome of Verify.
type Report struct {
	OK bool `json:"ok"`
	// Verified is the number of entries whose content was checked against
	// their leaf.
	Verified int64 `json:"verified"`
	// TreeSize is the size of the tree walked.
	TreeSize int64 `json:"treeSize"`
	// Checkpoints is the number of signed checkpoints the tree was
	// checked against.
	Checkpoints int `json:"checkpoints"`
	// Expired counts the leaves whose entries are past their retention
	// and gone: checked through their stored hashes only.
	Expired int64    `json:"expired"`
	Failure *Failure `json:"failure,omitempty"`
}

func leafPtr(n int64) *int64 { return &n }

// Verify recomputes tenant's tree from the entries in the database and
// checks it against every signed checkpoint it knows of (see the package
// doc, "Verification"). A failure is a Report with OK false, not an error;
// the error is for a store that cannot be read.
func (l *Log) Verify(ctx context.Context, tenant string, opts VerifyOptions) (Report, error) {
	if err := logs.ValidateTenant("tenant", tenant); err != nil {
		return Report{}, err
	}
	var rep Report
	fail := func(f Failure) (Report, error) {
		rep.Failure = &f
		rep.OK = false
		return rep, nil
	}
	// The consumer's checkpoint first: every entry at or before it is in
	// the tree read after it. Then the checkpoints, then the tree's size.
	var upTo logstore.Cursor
	states, err := l.consumers.ConsumerStates(ctx)
	if err != nil {
		return Report{}, err
	}
	for _, st := range states {
		if st.Name == logstore.TreeConsumer {
			upTo = st.Checkpoint
		}
	}
	// The checkpoints: the database's, the bucket's and the caller's, each
	// checked against the key; two of one size must agree.
	v, err := note.NewVerifier(l.key.VerifierKey)
	if err != nil {
		return Report{}, fmt.Errorf("logtree: %w: %w", logs.ErrInternal, err)
	}
	bySize := map[int64]Checkpoint{}
	add := func(msg []byte, where string) *Failure {
		c, err := openCheckpoint(v, tenant, msg)
		if err != nil {
			return &Failure{Reason: ReasonBadCheckpoint, Message: fmt.Sprintf("a checkpoint in the %s does not verify: %v", where, err)}
		}
		if o, ok := bySize[c.TreeSize]; ok && o.RootHash != c.RootHash {
			return &Failure{Reason: ReasonCheckpoint, TreeSize: c.TreeSize,
				Message: fmt.Sprintf("two signed checkpoints of tree size %d name different root hashes", c.TreeSize)}
		}
		bySize[c.TreeSize] = c
		return nil
	}
	for before := int64(0); ; {
		cps, err := l.trees.TreeCheckpoints(ctx, tenant, before, 1000)
		if err != nil {
			return Report{}, err
		}
		for _, c := range cps {
			if f := add(c.Note, "database"); f != nil {
				return fail(*f)
			}
			if oc := bySize[c.Size]; oc.RootHash != c.Root {
				return fail(Failure{Reason: ReasonBadCheckpoint, TreeSize: c.Size,
					Message: fmt.Sprintf("the stored root hash of the checkpoint of size %d is not the one it signs", c.Size)})
			}
		}
		if len(cps) < 1000 {
			break
		}
		before = cps[len(cps)-1].Size
	}
	extra := slices.Clone(opts.Checkpoints)
	if l.opts.Bucket != nil {
		notes, err := BucketCheckpoints(ctx, l.opts.Bucket, tenant)
		if err != nil {
			return Report{}, err
		}
		extra = append(extra, notes...)
	}
	for _, msg := range extra {
		if f := add(msg, "bucket"); f != nil {
			return fail(*f)
		}
	}
	// The tree's size last: a checkpoint is stored with or after the leaves
	// it covers, and copied to the bucket after that, so every checkpoint
	// read above is within it unless leaves were removed.
	head, err := l.trees.TreeHead(ctx, tenant)
	if err != nil {
		return Report{}, err
	}
	size := head.Size
	rep.TreeSize = size
	sizes := make([]int64, 0, len(bySize))
	for s := range bySize {
		sizes = append(sizes, s)
	}
	slices.Sort(sizes)
	rep.Checkpoints = len(sizes)
	if len(sizes) > 0 && sizes[len(sizes)-1] > size {
		s := sizes[len(sizes)-1]
		return fail(Failure{Reason: ReasonTreeGap, LeafIndex: leafPtr(size), TreeSize: s,
			Message: fmt.Sprintf("a signed checkpoint has %d leaves, the tree in the database only %d: leaves were removed", s, size)})
	}

	cut, err := l.cutoff(ctx, tenant)
	if err != nil {
		return Report{}, err
	}
	// An entry within an hour of its retention may be purged while we walk.
	excuse := time.Time{}
	if !cut.IsZero() {
		excuse = cut.Add(time.Hour)
	}
	inRange := func(t time.Time) bool {
		return (opts.Start.IsZero() || !t.Before(opts.Start)) && (opts.End.IsZero() || !t.After(opts.End))
	}

	f := &frontier{}
	var storedBad *Failure // the first stored hash that disagrees
	lastGood := int64(0)   // the largest checkpoint size that matched
	next := 0              // sizes[next] is the next checkpoint to reach
	for f.size < size {
		leaves, err := l.trees.TreeLeaves(ctx, tenant, f.size, int(min(1000, size-f.size)))
		if err != nil {
			return Report{}, err
		}
		if len(leaves) == 0 {
			return fail(Failure{Reason: ReasonTreeGap, LeafIndex: leafPtr(f.size),
				Message: fmt.Sprintf("leaf %d of %d is missing from the tree", f.size, size)})
		}
		var ids []string
		for _, lf := range leaves {
			if inRange(lf.CreatedAt) {
				ids = append(ids, lf.ID)
			}
		}
		entries, err := l.trees.TreeEntries(ctx, tenant, ids)
		if err != nil {
			return Report{}, err
		}
		for _, lf := range leaves {
			if lf.Index != f.size {
				return fail(Failure{Reason: ReasonTreeGap, LeafIndex: leafPtr(f.size),
					Message: fmt.Sprintf("leaf %d of %d is missing from the tree", f.size, size)})
			}
			if lf.Index >= size {
				break
			}
			h := lf.Hashes[0]
			if tlog.RecordHash(leafData(lf.CreatedAt, lf.Digest)) != h {
				// The time (or digest) kept beside the leaf is not the one
				// it hashes: ranges and retention would go by a lie.
				return fail(Failure{Reason: ReasonStoredHash, ID: lf.ID, LeafIndex: leafPtr(lf.Index),
					Message: fmt.Sprintf("the time or digest kept at leaf %d (entry %s) is not the one its leaf hash covers: the tree was changed", lf.Index, lf.ID)})
			}
			if inRange(lf.CreatedAt) {
				e, ok := entries[lf.ID]
				switch {
				case ok:
					rh, err := LeafHash(e)
					if err != nil {
						return Report{}, err
					}
					if rh != h {
						return fail(Failure{Reason: ReasonChanged, ID: lf.ID, LeafIndex: leafPtr(lf.Index),
							Message: fmt.Sprintf("entry %s no longer matches its leaf %d: it was changed", lf.ID, lf.Index)})
					}
					rep.Verified++
				case !excuse.IsZero() && lf.CreatedAt.Before(excuse):
					rep.Expired++
				default:
					return fail(Failure{Reason: ReasonMissingEntry, ID: lf.ID, LeafIndex: leafPtr(lf.Index),
						Message: fmt.Sprintf("entry %s of leaf %d is missing from the database", lf.ID, lf.Index)})
				}
			}
			want := f.add(h)
			if storedBad == nil && !slices.Equal(want, toHashes(lf.Hashes)) {
				storedBad = &Failure{Reason: ReasonStoredHash, ID: lf.ID, LeafIndex: leafPtr(lf.Index),
					Message: fmt.Sprintf("the stored hashes of leaf %d (entry %s) disagree with the leaves before it", lf.Index, lf.ID)}
			}
			for next < len(sizes) && sizes[next] == f.size {
				s := sizes[next]
				if f.root() != bySize[s].RootHash {
					return fail(l.pinpoint(ctx, tenant, bySize[s], lastGood, opts, entries))
				}
				lastGood = s
				next++
			}
		}
	}
	if storedBad != nil {
		return fail(*storedBad)
	}
	id, err := l.trees.Untreed(ctx, tenant, upTo, opts.Start, opts.End)
	if err != nil {
		return Report{}, err
	}
	if id != "" {
		return fail(Failure{Reason: ReasonMissingLeaf, ID: id,
			Message: fmt.Sprintf("entry %s is in the database but not in the tree: it was added behind the log's back", id)})
	}
	rep.OK = true
	return rep, nil
}

func toHashes(hs [][32]byte) []tlog.Hash {
	out := make([]tlog.Hash, len(hs))
	for i, h := range hs {
		out[i] = h
	}
	return out
}

// pinpoint names the entry that breaks checkpoint c, whose tree the
// checkpoint of size lastGood (0: none) still matched: the first leaf
// beyond lastGood whose entry, with the stored hashes around it, is not
// included in c. When the stored hashes were rewritten too, no leaf can be
// singled out and the failure names the range.
func (l *Log) pinpoint(ctx context.Context, tenant string, c Checkpoint, lastGood int64, opts VerifyOptions, _ map[string]logs.Entry) Failure {
	base := Failure{Reason: ReasonCheckpoint, TreeSize: c.TreeSize,
		Message: fmt.Sprintf("the tree of leaves %d to %d in the database is not the one the checkpoint of size %d signs", lastGood, c.TreeSize-1, c.TreeSize)}
	r := l.hashReader(ctx, tenant)
	for from := lastGood; from < c.TreeSize; {
		leaves, err := l.trees.TreeLeaves(ctx, tenant, from, int(min(1000, c.TreeSize-from)))
		if err != nil || len(leaves) == 0 {
			return base
		}
		ids := make([]string, len(leaves))
		for i, lf := range leaves {
			ids[i] = lf.ID
		}
		entries, err := l.trees.TreeEntries(ctx, tenant, ids)
		if err != nil {
			return base
		}
		for _, lf := range leaves {
			if lf.Index >= c.TreeSize {
				return base
			}
			h := tlog.Hash(lf.Hashes[0])
			if e, ok := entries[lf.ID]; ok {
				if rh, err := LeafHash(e); err == nil {
					h = rh
				}
			}
			if included(c, lf.Index, h, r) {
				continue
			}
			base.ID, base.LeafIndex = lf.ID, leafPtr(lf.Index)
			base.Message = fmt.Sprintf("entry %s (leaf %d) is not the one the checkpoint of size %d signs: it was changed, and its stored leaf hash with it",
				lf.ID, lf.Index, c.TreeSize)
			// Its right neighbour shares its lowest subtree: when the
			// neighbour fails too, the checkpoint cannot tell which of
			// the two was changed.
			if sib := lf.Index | 1; sib != lf.Index && sib < c.TreeSize {
				if sl, err := l.trees.TreeLeaves(ctx, tenant, sib, 1); err == nil && len(sl) == 1 && sl[0].Index == sib {
					sh := tlog.Hash(sl[0].Hashes[0])
					if es, err := l.trees.TreeEntries(ctx, tenant, []string{sl[0].ID}); err == nil {
						if e, ok := es[sl[0].ID]; ok {
							if rh, err := LeafHash(e); err == nil {
								sh = rh
							}
						}
					}
					if !included(c, sib, sh, r) {
						base.Candidates = []string{lf.ID, sl[0].ID}
						base.Message = fmt.Sprintf("entry %s (leaf %d) or entry %s (leaf %d) is not the one the checkpoint of size %d signs: "+
							"one of them was changed, and its stored leaf hash with it", lf.ID, lf.Index, sl[0].ID, sib, c.TreeSize)
					}
				}
			}
			return base
		}
		from = leaves[len(leaves)-1].Index + 1
	}
	return base
}

// included reports whether leaf n of hash h, with the stored hashes of r
// around it, is in the tree that c signs.
func included(c Checkpoint, n int64, h tlog.Hash, r tlog.HashReader) bool {
	p, err := tlog.ProveRecord(c.TreeSize, n, r)
	return err == nil && tlog.CheckRecord(p, c.TreeSize, c.RootHash, n, h) == nil
}
