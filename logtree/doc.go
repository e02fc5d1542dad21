// Package logtree is the verifiable log: tamper evidence for every
// tenant's entries with a Merkle tree per tenant (RFC 9162 hashing,
// golang.org/x/mod/sumdb/tlog) and Ed25519-signed checkpoints
// (golang.org/x/mod/sumdb/note, the C2SP checkpoint form) that are also
// copied to a blob bucket, off the database host. docs/verifiable-log.md
// tells the whole design; this is the summary.
//
// # The tree
//
// A durable consumer (logconsume; [Log.Spec], named
// logstore.TreeConsumer) reads every entry in cursor order and appends it
// as the next leaf of its tenant's tree, in the transaction that moves its
// checkpoint (exactly once). The tree keeps tlog's stored hashes (about
// two per leaf, one row per leaf), so a proof reads O(log n) hashes.
//
// # The leaf
//
// The leaf hash is tlog.RecordHash of [LeafData]: the entry's createdAt
// (microseconds, 8 bytes big-endian) and the SHA-256 ([Digest]) of its
// canonical JSON ([Canonical]): the seven fields as the API writes an
// entry (id, tenantId, level, source, message, metadata, createdAt in
// that order, no whitespace, no HTML escaping, createdAt in UTC with six
// fractional digits), with the metadata's object keys sorted by their
// UTF-8 bytes at every depth and its numbers as the digits stored. The
// time stands apart so that a leaf's time is checked without its entry.
// [ParseEntry] reads an entry of the API with its digits, so that a client
// recomputes the same hash.
//
// # Checkpoints
//
// [Log.Tick] signs a checkpoint of every tree that grew by Options.Entries
// leaves, or at all within Options.Interval: a signed note whose text is
// the C2SP checkpoint (origin "keyname/tenant", tree size, base64 root
// hash) with one extension line "time <RFC 3339>". It is stored in the
// database and, on the next tick, written to the bucket at
// BucketPrefix/tenant/size.
//
// # Verification
//
// [Log.Verify] walks the tenant's tree leaf by leaf, recomputes each leaf
// hash from the entry in the database and the tree from those hashes,
// and checks every signed checkpoint (the database's and the bucket's)
// against it. The first failure is named: an entry changed, an entry
// missing from the database, an entry the consumer passed that is not in
// the tree, a leaf missing, stored hashes changed, a tree that a signed
// checkpoint does not match (with the entry it singles out, or the two
// neighbours one of which changed). Entries past their tenant's
// retention may be gone: they count as expired, checked through their
// stored leaf hashes only.
//
// [CheckProof] and [CheckConsistency] are the client's side: they trust a
// public key the user holds and nothing the server says.
//
// # Errors
//
// Proof and Consistency return errors wrapping logs.ErrNotFound (no such
// entry or checkpoint for the tenant), logs.ErrInvalid (a size out of
// range, naming the field) and [ErrNotCheckpointed] (logs.ErrConflict).
// Verify reports tampering in its Report, not as an error. CheckProof and
// CheckConsistency wrap [ErrProof] or [ErrCheckpoint].
//
// # Concurrency
//
// A Log is safe for concurrent use. Its consumer runs in one process at a
// time (the consumer's lease); proofs and verification run anywhere.
package logtree
