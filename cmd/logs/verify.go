package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/ithbat/logs/logtree"
)

// exitUnverified is the exit code of a proof that does not check.
const exitUnverified = 4

// errUnverified marks a verification that failed (exit 4).
var errUnverified = errors.New("does not verify")

// runVerify checks, for each entry id, the server's inclusion proof
// against the public key the user holds (--key, LOGS_VERIFIER_KEY),
// trusting nothing else the server says; with --checkpoint (a signed note
// kept from earlier), also that the log only grew since.
func runVerify(ctx context.Context, e *env, args []string) error {
	const use = "--key VERIFIERKEY [--checkpoint FILE] ID..."
	fs := newFlagSet(e, "verify", use)
	var cf common
	cf.register(fs, e)
	keyDef := ""
	if v, ok := e.lookupEnv("LOGS_VERIFIER_KEY"); ok {
		keyDef = v
	}
	key := fs.String("key", keyDef, "the public key to trust, name+hash+base64 as logsd prints it (LOGS_VERIFIER_KEY); never take it from the server you check")
	kept := fs.String("checkpoint", "", "a signed checkpoint kept from earlier (a file): check that today's log extends it")
	if err := parse(fs, args, 1<<20); err != nil {
		return err
	}
	if *key == "" {
		return usagef("--key (LOGS_VERIFIER_KEY) is required: the public key you hold")
	}
	if _, err := logtree.ParseVerifierKey(*key); err != nil {
		return usagef("--key: %v", err)
	}
	if fs.NArg() == 0 {
		return usagef("give the ids of the entries to verify")
	}
	var older []byte
	if *kept != "" {
		b, err := os.ReadFile(*kept)
		if err != nil {
			return usagef("--checkpoint: %v", err)
		}
		if _, err := logtree.OpenCheckpoint(*key, cf.tenant, b); err != nil {
			return fmt.Errorf("the kept checkpoint %s: %w: %w", *kept, errUnverified, err)
		}
		older = b
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	checked := map[int64]bool{}
	for _, id := range fs.Args() {
		raw, err := c.Proof(ctx, id)
		if err != nil {
			return err
		}
		var p logtree.Proof
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("entry %s: the proof cannot be read: %w: %w", clean(id, 40), errUnverified, err)
		}
		cp, err := logtree.CheckProof(*key, cf.tenant, nil, p)
		if err != nil {
			return fmt.Errorf("entry %s: %w: %w", clean(id, 40), errUnverified, err)
		}
		fmt.Fprintf(e.stdout, "ok %s: leaf %d of the tree of size %d signed at %s\n", clean(p.ID, 40), p.LeafIndex, cp.TreeSize,
			cp.Time.UTC().Format("2006-01-02T15:04:05Z"))
		if older == nil || checked[cp.TreeSize] {
			continue
		}
		o, err := logtree.OpenCheckpoint(*key, cf.tenant, older)
		if err != nil {
			return err
		}
		if o.TreeSize > cp.TreeSize {
			return fmt.Errorf("the kept checkpoint has %d entries, the server's only %d: %w", o.TreeSize, cp.TreeSize, errUnverified)
		}
		rawCons, err := c.Consistency(ctx, max(o.TreeSize, 1), cp.TreeSize)
		if err != nil {
			return err
		}
		var cons logtree.Consistency
		if err := json.Unmarshal(rawCons, &cons); err != nil {
			return fmt.Errorf("the consistency proof cannot be read: %w: %w", errUnverified, err)
		}
		if _, _, err := logtree.CheckConsistency(*key, cf.tenant, older, []byte(cp.Note), cons.Proof); err != nil {
			return fmt.Errorf("%w: %w", errUnverified, err)
		}
		checked[cp.TreeSize] = true
		fmt.Fprintf(e.stdout, "ok the tree of size %d extends the kept one of size %d\n", cp.TreeSize, o.TreeSize)
	}
	return nil
}
