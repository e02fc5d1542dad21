// Package logconsume runs durable consumers of the entry feed: named
// readers that see every entry once, in the order entries became visible
// (the store's cursor order), from a checkpoint kept in the database.
//
// Several features read the log that way: the rollups behind exact totals
// and the stats ([Rollups]), the log streams that push a tenant's entries to
// its webhook or bucket, the verifiable log. Each is a [Spec]: a name, the
// tenant whose entries it reads ("" for all), a batch size, and Apply,
// which gets the next batch after the checkpoint and returns the effects
// to commit with it.
//
// # Delivery
//
// A [Runner] runs its specs, each in a goroutine: it claims the consumer's
// lease (logstore.Consumers), reads the entries beyond the checkpoint with
// Store.After (below the visibility watermark, so no entry can appear
// behind the checkpoint later), calls Apply, and moves the checkpoint over
// the batch in the same transaction as the effects Apply returned. So:
//
//   - effects inside the database (logstore.Effect: the rollups, the
//     verifiable log's tree) are applied exactly once;
//   - effects outside it (a webhook, a file in a bucket), made by Apply
//     itself, happen at least once: when a process dies between the effect
//     and the checkpoint, or loses its lease, the next owner hands the same
//     batch out again. Entry ids let receivers deduplicate.
//
// An Apply error leaves the checkpoint where it was; the same batch (the
// same records, not a longer one though more entries arrived meanwhile) is
// handed out again after a backoff, doubling from Options.Retry up to
// Options.MaxRetry with up to a fifth more at random (jitter), so that a
// destination that dedupes by batch sees one batch under one identity.
// After a restart or a change of owner the batch is read afresh: it starts
// at the same checkpoint and may hold more entries. A checkpoint that
// cannot be stored (a database error) is tried again, with the same
// effects, without calling Apply again.
//
// A spec with Tick also does work that is due by time (the verifiable log
// signs its checkpoints so): the runner calls Tick about every Spec.Every
// while it holds the consumer, before a batch and at the head, and commits
// the effects Tick returns with the next move of the checkpoint (at the
// head, on their own), exactly once like Apply's.
//
// # Replicas and leases
//
// Any number of processes may run Runners with the same specs on one
// database: the lease (Options.Lease) makes each consumer run in one of them
// at a time. The owner renews it every third of its length; a process that
// dies keeps it until it expires, then another takes over from the
// checkpoint. Close lets a batch in progress finish (its Apply and its
// checkpoint), then gives the leases back at once.
//
// A consumer at the head waits for Store.Watch (appends in this process, or
// LISTEN/NOTIFY on PostgreSQL) or Options.Poll, then Options.Settle more so
// that a burst of appends makes one batch. The append path never waits for
// a consumer.
//
// # Errors
//
// Add refuses a spec without a name or Apply, or a name already running
// (logs.ErrInvalid). Store errors are logged and retried; they end nothing.
//
// # Concurrency
//
// A Runner is safe for concurrent use. Apply of one spec is called from one
// goroutine at a time; different specs run concurrently. Close stops every
// goroutine and waits for them.
package logconsume
