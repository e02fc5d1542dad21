package logtree_test

import (
	"encoding/json"
	"fmt"

	"github.com/ithbat/logs/logtree"
)

// A client checks an entry's proof with the public key it holds (from
// logsd's start, or GET /api/v1/logs/checkpoints/key once, kept apart):
// proofData is the data of GET /api/v1/logs/proof?id=..., entryJSON the
// entry as it has it (an export line, a list page). This is all a
// command-line "verify" needs.
func ExampleCheckProof() {
	var (
		verifierKey = "ithbat-logs+04aa70c0+Affqy0im4Zw8/MLnDq5udEgBU8vB/xZC4gQrYTx44mP2"
		proofData   []byte // the "data" of the proof's answer
		entryJSON   []byte // nil: the proof's own entry
	)
	var p logtree.Proof
	if err := json.Unmarshal(proofData, &p); err != nil {
		fmt.Println("not a proof:", err)
		return
	}
	c, err := logtree.CheckProof(verifierKey, "acme", entryJSON, p)
	if err != nil {
		fmt.Println("does not verify:", err)
		return
	}
	fmt.Printf("entry %s is leaf %d of the tree of size %d signed at %s\n", p.ID, p.LeafIndex, c.TreeSize, c.Time)
}

// Two checkpoints kept on different days, and the consistency proof
// between their sizes (GET /api/v1/logs/checkpoints/consistency), show that
// the log was only appended to in between.
func ExampleCheckConsistency() {
	var (
		verifierKey    = "ithbat-logs+04aa70c0+Affqy0im4Zw8/MLnDq5udEgBU8vB/xZC4gQrYTx44mP2"
		older, newer   []byte // signed notes, as kept
		consistencyDat []byte // the "data" of the consistency answer
	)
	var cons logtree.Consistency
	if err := json.Unmarshal(consistencyDat, &cons); err != nil {
		fmt.Println("not a proof:", err)
		return
	}
	o, n, err := logtree.CheckConsistency(verifierKey, "acme", older, newer, cons.Proof)
	if err != nil {
		fmt.Println("does not verify:", err)
		return
	}
	fmt.Printf("the tree of size %d extends that of size %d\n", n.TreeSize, o.TreeSize)
}
