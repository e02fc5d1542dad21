package logtree

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/ithbat/logs"
)

// The checks of this file are the client's side: they take what a server
// answered (a proof, checkpoints) and a public key the user holds, and
// trust nothing else: not the server's leaf hash, not its checkpoint
// unless its signature verifies under that key for that tenant.

// CheckProof checks p, an answer of GET /api/v1/logs/proof, for tenant
// against verifierKey (a note verifier key, as GET
// /api/v1/logs/checkpoints/key and logsd print it): the checkpoint's
// signature and origin, the leaf hash recomputed from entry (the entry's
// JSON as the API writes it, such as a line of an export or p.Entry
// itself; nil takes p.Entry), and the inclusion proof from that hash to
// the checkpoint's root. It returns the checkpoint that the entry is
// proven to be in.
func CheckProof(verifierKey, tenant string, entry []byte, p Proof) (Checkpoint, error) {
	c, err := OpenCheckpoint(verifierKey, tenant, []byte(p.Checkpoint.Note))
	if err != nil {
		return Checkpoint{}, err
	}
	var e logs.Entry
	switch {
	case entry != nil:
		if e, err = ParseEntry(entry); err != nil {
			return Checkpoint{}, err
		}
	case p.Entry != nil:
		e = *p.Entry
	default:
		return Checkpoint{}, fmt.Errorf("logtree: the proof has no entry to check: %w", logs.ErrInvalid)
	}
	if e.TenantID != tenant {
		return Checkpoint{}, fmt.Errorf("logtree: the entry is of tenant %q, not %q: %w", e.TenantID, tenant, ErrProof)
	}
	if p.ID != "" && e.ID != p.ID {
		return Checkpoint{}, fmt.Errorf("logtree: the proof is of entry %q, not %q: %w", p.ID, e.ID, ErrProof)
	}
	h, err := LeafHash(e)
	if err != nil {
		return Checkpoint{}, err
	}
	if p.LeafIndex < 0 || p.LeafIndex >= c.TreeSize {
		return Checkpoint{}, fmt.Errorf("logtree: leaf %d is not in a tree of size %d: %w", p.LeafIndex, c.TreeSize, ErrProof)
	}
	if err := tlog.CheckRecord(p.Proof, c.TreeSize, c.RootHash, p.LeafIndex, h); err != nil {
		return Checkpoint{}, fmt.Errorf("logtree: entry %s is not leaf %d of the signed tree of size %d: %w: %v", e.ID, p.LeafIndex, c.TreeSize, ErrProof, err)
	}
	return c, nil
}

// ErrProof is wrapped by the errors of CheckProof and CheckConsistency for
// a proof that does not prove what it claims.
var ErrProof = fmt.Errorf("logtree: the proof does not check")

// CheckConsistency checks that the tree of the signed checkpoint newer
// extends that of older (both signed notes of tenant under verifierKey,
// such as one kept from an earlier day and today's): proof is the answer
// of GET /api/v1/logs/checkpoints/consistency for their sizes. It returns
// both checkpoints.
func CheckConsistency(verifierKey, tenant string, older, newer []byte, proof []tlog.Hash) (Checkpoint, Checkpoint, error) {
	o, err := OpenCheckpoint(verifierKey, tenant, older)
	if err != nil {
		return Checkpoint{}, Checkpoint{}, err
	}
	n, err := OpenCheckpoint(verifierKey, tenant, newer)
	if err != nil {
		return Checkpoint{}, Checkpoint{}, err
	}
	if o.TreeSize > n.TreeSize {
		o, n = n, o
	}
	if o.TreeSize == n.TreeSize {
		if o.RootHash != n.RootHash {
			return o, n, fmt.Errorf("logtree: two signed checkpoints of size %d name different roots: %w", o.TreeSize, ErrProof)
		}
		return o, n, nil
	}
	if o.TreeSize == 0 {
		return o, n, nil
	}
	if err := tlog.CheckTree(proof, n.TreeSize, n.RootHash, o.TreeSize, o.RootHash); err != nil {
		return o, n, fmt.Errorf("logtree: the tree of size %d does not extend that of size %d: %w: %v", n.TreeSize, o.TreeSize, ErrProof, err)
	}
	return o, n, nil
}
