package logtree

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"gocloud.dev/blob"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logconsume"
	"github.com/ithbat/logs/logstore"
)

// Defaults of [Options].
const (
	DefaultInterval = time.Minute
	DefaultEntries  = 10_000
	// BucketPrefix is where checkpoints go in the bucket:
	// BucketPrefix + tenant + "/" + the size in 20 digits.
	BucketPrefix = "tlog/"
)

// Options configure a Log. Zero fields take the defaults named on them.
type Options struct {
	// Interval is the longest a tree that grew waits for a checkpoint.
	// Default DefaultInterval.
	Interval time.Duration
	// Entries is how many new leaves make a checkpoint at once. Default
	// DefaultEntries.
	Entries int64
	// Bucket, when set, receives a copy of every checkpoint, off the
	// database host (BucketPrefix), and Verify reads them back.
	Bucket *blob.Bucket
	// Settings, when set, gives the tenants' retention: entries past it
	// may be gone without that being a failure, and are not served.
	Settings logstore.Settings
	// Logger receives failures of the bucket. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock of checkpoints. Default time.Now.
	Now func() time.Time
}

// Log is the verifiable log of a store: the consumer that builds the
// trees and signs checkpoints, and the proofs and verification over them.
type Log struct {
	store     logstore.Store
	trees     logstore.Trees
	consumers logstore.Consumers
	key       *Key
	opts      Options
}

// New returns the Log of store, whose trees and consumer checkpoints
// trees and consumers keep (a bunstore.Store is all three), signing with
// key.
func New(store logstore.Store, trees logstore.Trees, consumers logstore.Consumers, key *Key, opts *Options) *Log {
	l := &Log{store: store, trees: trees, consumers: consumers, key: key}
	if opts != nil {
		l.opts = *opts
	}
	if l.opts.Interval <= 0 {
		l.opts.Interval = DefaultInterval
	}
	if l.opts.Entries <= 0 {
		l.opts.Entries = DefaultEntries
	}
	if l.opts.Logger == nil {
		l.opts.Logger = slog.Default()
	}
	if l.opts.Now == nil {
		l.opts.Now = time.Now
	}
	return l
}

// Key returns the signing key (its VerifierKey is public).
func (l *Log) Key() *Key { return l.key }

// Spec is the durable consumer that appends every entry, in cursor order,
// to its tenant's tree (Apply) and signs and publishes checkpoints (Tick).
func (l *Log) Spec() logconsume.Spec {
	return logconsume.Spec{Name: logstore.TreeConsumer, Batch: 5000, Apply: l.Apply, Tick: l.Tick, Every: time.Second}
}

// hashReader reads tenant's stored hashes.
func (l *Log) hashReader(ctx context.Context, tenant string) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		hs, err := l.trees.TreeHashes(ctx, tenant, idx)
		if err != nil {
			return nil, err
		}
		out := make([]tlog.Hash, len(hs))
		for i, h := range hs {
			out[i] = h
		}
		return out, nil
	})
}

// Apply appends recs to their tenants' trees: the effects to commit with
// the consumer's checkpoint.
func (l *Log) Apply(ctx context.Context, recs []logstore.Record) ([]logstore.Effect, error) {
	var order []string
	byTenant := map[string][]*logs.Entry{}
	for i := range recs {
		e := &recs[i].Entry
		if _, ok := byTenant[e.TenantID]; !ok {
			order = append(order, e.TenantID)
		}
		byTenant[e.TenantID] = append(byTenant[e.TenantID], e)
	}
	var out []logstore.Effect
	for _, tenant := range order {
		head, err := l.trees.TreeHead(ctx, tenant)
		if err != nil {
			return nil, err
		}
		f, err := l.frontier(ctx, tenant, head.Size)
		if err != nil {
			return nil, err
		}
		eff := logstore.TreeEffect{Tenant: tenant, From: head.Size}
		for _, e := range byTenant[tenant] {
			d, err := Digest(*e)
			if err != nil {
				return nil, err
			}
			h := tlog.RecordHash(leafData(e.CreatedAt, d))
			leaf := logstore.TreeLeaf{Index: f.size, ID: e.ID, CreatedAt: e.CreatedAt, Digest: d}
			for _, s := range f.add(h) {
				leaf.Hashes = append(leaf.Hashes, s)
			}
			eff.Leaves = append(eff.Leaves, leaf)
		}
		out = append(out, eff)
	}
	return out, nil
}

// frontier reads the right edge of tenant's tree of size n.
func (l *Log) frontier(ctx context.Context, tenant string, n int64) (*frontier, error) {
	f := &frontier{size: n}
	if n == 0 {
		return f, nil
	}
	hs, err := l.hashReader(ctx, tenant).ReadHashes(frontierIndexes(n))
	if err != nil {
		return nil, fmt.Errorf("logtree: the tree of %q: %w", tenant, err)
	}
	f.stack = hs
	return f, nil
}

// Tick copies the checkpoints stored since the last tick to the bucket,
// and signs a checkpoint of every tree that grew by Options.Entries, or at
// all in Options.Interval: the effects that store them.
func (l *Log) Tick(ctx context.Context) ([]logstore.Effect, error) {
	now := l.opts.Now()
	heads, err := l.trees.DueTreeHeads(ctx, l.opts.Entries, now.Add(-l.opts.Interval), 100)
	if err != nil {
		return nil, err
	}
	var out []logstore.Effect
	for _, h := range heads {
		if h.PublishedSize < h.CheckpointSize {
			if err := l.publish(ctx, h); err != nil {
				l.opts.Logger.Warn("logtree: copy checkpoints to the bucket; will retry", "tenant", h.Tenant, "err", err)
			}
		}
		if h.Size > h.CheckpointSize && (h.Size-h.CheckpointSize >= l.opts.Entries || !h.CheckpointAt.After(now.Add(-l.opts.Interval))) {
			root, err := tlog.TreeHash(h.Size, l.hashReader(ctx, h.Tenant))
			if err != nil {
				return nil, fmt.Errorf("logtree: the tree of %q: %w", h.Tenant, err)
			}
			at := now.UTC().Truncate(time.Microsecond)
			msg, err := sign(l.key, h.Tenant, h.Size, root, at)
			if err != nil {
				return nil, err
			}
			out = append(out, logstore.CheckpointEffect{Checkpoint: logstore.TreeCheckpoint{
				Tenant: h.Tenant, Size: h.Size, Root: root, Time: at, Note: msg}})
		}
	}
	return out, nil
}

// bucketKey is where the checkpoint of tenant's tree of size lives.
func bucketKey(tenant string, size int64) string {
	return fmt.Sprintf("%s%s/%020d", BucketPrefix, tenant, size)
}

// publish writes h's checkpoints beyond the published size to the bucket.
func (l *Log) publish(ctx context.Context, h logstore.TreeHead) error {
	if l.opts.Bucket != nil {
		cps, err := l.trees.TreeCheckpoints(ctx, h.Tenant, h.CheckpointSize+1, 1000)
		if err != nil {
			return err
		}
		for _, c := range cps {
			if c.Size <= h.PublishedSize {
				break
			}
			if err := l.opts.Bucket.WriteAll(ctx, bucketKey(h.Tenant, c.Size), c.Note, &blob.WriterOptions{ContentType: "text/plain; charset=utf-8"}); err != nil {
				return err
			}
		}
	}
	return l.trees.SetTreePublished(ctx, h.Tenant, h.CheckpointSize)
}

// BucketCheckpoints returns the notes of tenant's checkpoints in bucket,
// by size (what Verify compares the tree with, besides the database's).
func BucketCheckpoints(ctx context.Context, bucket *blob.Bucket, tenant string) ([][]byte, error) {
	if err := logs.ValidateTenant("tenant", tenant); err != nil {
		return nil, err
	}
	var out [][]byte
	it := bucket.List(&blob.ListOptions{Prefix: BucketPrefix + tenant + "/"})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("logtree: list checkpoints: %w: %w", logs.ErrUnavailable, err)
		}
		if obj.IsDir || obj.Size > 64<<10 {
			continue
		}
		b, err := bucket.ReadAll(ctx, obj.Key)
		if err != nil {
			return nil, fmt.Errorf("logtree: read checkpoint %s: %w: %w", obj.Key, logs.ErrUnavailable, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// Checkpoints returns up to limit of tenant's checkpoints below size
// before (0: all), largest first, as signed.
func (l *Log) Checkpoints(ctx context.Context, tenant string, before int64, limit int) ([]Checkpoint, error) {
	cps, err := l.trees.TreeCheckpoints(ctx, tenant, before, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Checkpoint, 0, len(cps))
	for _, c := range cps {
		out = append(out, stored(l.key, c))
	}
	return out, nil
}

// stored is a stored checkpoint as the API shows it.
func stored(k *Key, c logstore.TreeCheckpoint) Checkpoint {
	return Checkpoint{Origin: Origin(k.Name(), c.Tenant), TreeSize: c.Size, RootHash: c.Root, Time: c.Time, Note: string(c.Note)}
}

// Proof is the inclusion proof of one entry.
type Proof struct {
	// ID is the entry's id; Entry the entry as the API writes it (null
	// when the database no longer has it).
	ID    string      `json:"id"`
	Entry *logs.Entry `json:"entry"`
	// LeafIndex is the entry's leaf; LeafHash the hash the tree has there.
	LeafIndex int64     `json:"leafIndex"`
	LeafHash  tlog.Hash `json:"leafHash"`
	// Proof is the RFC 9162 inclusion proof of the leaf in the tree of
	// Checkpoint (tlog.RecordProof).
	Proof      []tlog.Hash `json:"proof"`
	Checkpoint Checkpoint  `json:"checkpoint"`
}

// UnmarshalJSON reads a proof as the API writes it, its entry with
// ParseEntry (metadata numbers keep their digits, so that the entry hashes
// as stored).
func (p *Proof) UnmarshalJSON(b []byte) error {
	type plain Proof
	var v struct {
		plain
		Entry json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Proof(v.plain)
	p.Entry = nil
	if len(v.Entry) > 0 && string(v.Entry) != "null" {
		e, err := ParseEntry(v.Entry)
		if err != nil {
			return err
		}
		p.Entry = &e
	}
	return nil
}

// ErrNotCheckpointed is the error of Proof for an entry in the tree but not
// yet under a signed checkpoint (it wraps logs.ErrConflict).
var ErrNotCheckpointed = fmt.Errorf("logtree: the entry is not under a signed checkpoint yet: %w", logs.ErrConflict)

// Proof returns the proof that tenant's entry id is in the tree of
// tenant's latest checkpoint (of the checkpoint of size treeSize, when not
// 0). An entry the tenant does not have, or no longer keeps, is an error
// wrapping logs.ErrNotFound; one not yet under the checkpoint
// ErrNotCheckpointed.
func (l *Log) Proof(ctx context.Context, tenant, id string, treeSize int64) (Proof, error) {
	notFound := logs.NewError(logs.ErrNotFound, "id", "the tenant has no entry %.40q in its verifiable log", id)
	leaf, err := l.trees.TreeLeafByID(ctx, tenant, id)
	if errors.Is(err, logs.ErrNotFound) {
		return Proof{}, notFound
	}
	if err != nil {
		return Proof{}, err
	}
	cut, err := l.cutoff(ctx, tenant)
	if err != nil {
		return Proof{}, err
	}
	if leaf.CreatedAt.Before(cut) {
		return Proof{}, notFound // past the retention: not served
	}
	var cp logstore.TreeCheckpoint
	if treeSize > 0 {
		if cp, err = l.trees.TreeCheckpoint(ctx, tenant, treeSize); errors.Is(err, logs.ErrNotFound) {
			return Proof{}, logs.NewError(logs.ErrNotFound, "treeSize", "the tenant has no checkpoint of size %d", treeSize)
		}
	} else {
		var cps []logstore.TreeCheckpoint
		cps, err = l.trees.TreeCheckpoints(ctx, tenant, 0, 1)
		if err == nil && len(cps) == 1 {
			cp = cps[0]
		}
	}
	if err != nil {
		return Proof{}, err
	}
	if leaf.Index >= cp.Size {
		if treeSize > 0 {
			return Proof{}, logs.NewError(logs.ErrInvalid, "treeSize", "the entry is leaf %d, not in the tree of size %d", leaf.Index, treeSize)
		}
		return Proof{}, &logs.Error{Kind: logs.ErrConflict, Field: "id", Message: "the entry is not under a signed checkpoint yet; " +
			"checkpoints are signed at least every " + l.opts.Interval.String(), Err: ErrNotCheckpointed}
	}
	rp, err := tlog.ProveRecord(cp.Size, leaf.Index, l.hashReader(ctx, tenant))
	if err != nil {
		return Proof{}, fmt.Errorf("logtree: prove: %w", err)
	}
	p := Proof{ID: leaf.ID, LeafIndex: leaf.Index, LeafHash: leaf.Hashes[0], Proof: rp, Checkpoint: stored(l.key, cp)}
	es, err := l.trees.TreeEntries(ctx, tenant, []string{leaf.ID})
	if err != nil {
		return Proof{}, err
	}
	if e, ok := es[leaf.ID]; ok {
		p.Entry = &e
	}
	return p, nil
}

// Consistency is the proof that the tree of size From is a prefix of the
// tree of size To.
type Consistency struct {
	From  int64       `json:"from"`
	To    int64       `json:"to"`
	Proof []tlog.Hash `json:"proof"`
	// The stored checkpoints of those sizes, when there are.
	FromCheckpoint *Checkpoint `json:"fromCheckpoint"`
	ToCheckpoint   *Checkpoint `json:"toCheckpoint"`
}

// Consistency returns the RFC 9162 consistency proof between tenant's
// trees of sizes from and to: 1 <= from <= to <= the size of the latest
// checkpoint (else an error wrapping logs.ErrInvalid naming the field).
func (l *Log) Consistency(ctx context.Context, tenant string, from, to int64) (Consistency, error) {
	cps, err := l.trees.TreeCheckpoints(ctx, tenant, 0, 1)
	if err != nil {
		return Consistency{}, err
	}
	var latest int64
	if len(cps) == 1 {
		latest = cps[0].Size
	}
	switch {
	case from < 1:
		return Consistency{}, logs.Invalid("from", "must be a tree size from 1")
	case to < from:
		return Consistency{}, logs.Invalid("to", "must not be below from (%d)", from)
	case to > latest:
		return Consistency{}, logs.Invalid("to", "must not be beyond the latest checkpoint's tree size (%d)", latest)
	}
	tp, err := tlog.ProveTree(to, from, l.hashReader(ctx, tenant))
	if err != nil {
		return Consistency{}, fmt.Errorf("logtree: prove: %w", err)
	}
	c := Consistency{From: from, To: to, Proof: tp}
	if tp == nil {
		c.Proof = []tlog.Hash{}
	}
	for _, x := range []struct {
		size int64
		dst  **Checkpoint
	}{{from, &c.FromCheckpoint}, {to, &c.ToCheckpoint}} {
		cp, err := l.trees.TreeCheckpoint(ctx, tenant, x.size)
		if errors.Is(err, logs.ErrNotFound) {
			continue
		}
		if err != nil {
			return Consistency{}, err
		}
		s := stored(l.key, cp)
		*x.dst = &s
	}
	return c, nil
}

// cutoff is the time before which tenant's entries are past their
// retention (zero: none).
func (l *Log) cutoff(ctx context.Context, tenant string) (time.Time, error) {
	if l.opts.Settings == nil {
		return time.Time{}, nil
	}
	keep, err := l.opts.Settings.Retention(ctx, tenant)
	if err != nil || keep <= 0 {
		return time.Time{}, err
	}
	return l.opts.Now().Add(-keep), nil
}
