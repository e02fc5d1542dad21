package logstore

import (
	"context"
	"time"

	"github.com/ithbat/logs"
)

// ConsumerState is a durable consumer of the entry feed as stored: a name,
// a checkpoint and a lease (see package logconsume).
type ConsumerState struct {
	Name string
	// Checkpoint is the cursor up to which every entry was applied.
	Checkpoint Cursor
	// Owner holds the lease until LeaseUntil; "" for none.
	Owner      string
	LeaseUntil time.Time
	// AdvancedAt is when the checkpoint last moved, HeadAt when a read
	// last found nothing beyond it (the consumer was at the head).
	AdvancedAt time.Time
	HeadAt     time.Time
}

// Effect is a change inside the store's database that a consumer commits
// in the same transaction as its checkpoint, so that it is applied exactly
// once. The store knows each kind; one it does not know is an error
// wrapping logs.ErrInternal.
type Effect interface{ effect() }

// Consumers keeps the checkpoints and leases of durable consumers.
type Consumers interface {
	// ClaimConsumer gives owner the lease of consumer name until
	// leaseUntil, when no other owner holds it at now (a renewal when
	// owner does), registering name with checkpoint start when it is new.
	// It returns the consumer's state and whether owner holds the lease.
	// Of concurrent claims, one owner wins.
	ClaimConsumer(ctx context.Context, name, owner string, start Cursor, now, leaseUntil time.Time) (ConsumerState, bool, error)

	// AdvanceConsumer moves name's checkpoint from from to to and applies
	// effects, in one transaction, if owner holds the lease at now and the
	// checkpoint is still from; it reports false, and changes nothing,
	// otherwise. With to equal to from it only records that the consumer
	// is at the head (HeadAt).
	AdvanceConsumer(ctx context.Context, name, owner string, from, to Cursor, now time.Time, effects ...Effect) (bool, error)

	// ReleaseConsumer ends owner's lease of name, if it holds it.
	ReleaseConsumer(ctx context.Context, name, owner string) error

	// ConsumerStates returns every consumer, by name.
	ConsumerStates(ctx context.Context) ([]ConsumerState, error)

	// DeleteConsumer forgets consumer name (and its lease).
	DeleteConsumer(ctx context.Context, name string) error

	// CountAfter returns the number of entries of tenant ("" for all)
	// beyond cursor c, counting at most max: the lag of a consumer.
	CountAfter(ctx context.Context, tenant string, c Cursor, max int64) (int64, error)
}

// RollupConsumer is the name of the consumer that keeps the store's
// rollups: the counts by tenant, hour, level and source that make totals
// and stats cheap. Stores read its checkpoint to count exactly what it has
// not applied yet (see RollupEffect).
const RollupConsumer = "rollups"

// CountDelta adds N entries of Tenant, Level and Source in the hour that
// starts at Hour (UTC, whole hours) to the rollups.
type CountDelta struct {
	Tenant string
	Hour   time.Time
	Level  logs.Level
	Source string
	N      int64
}

// RollupEffect adds counts to the store's rollups, in the transaction that
// moves the RollupConsumer's checkpoint over the entries they count.
type RollupEffect struct{ Deltas []CountDelta }

func (RollupEffect) effect() {}

// RollupDeltas returns the counts that recs add to the rollups, one delta
// per tenant, hour, level and source.
func RollupDeltas(recs []Record) []CountDelta {
	type key struct {
		tenant string
		hour   int64
		level  logs.Level
		source string
	}
	idx := map[key]int{}
	var out []CountDelta
	for _, r := range recs {
		e := &r.Entry
		h := e.CreatedAt.UTC().Truncate(time.Hour)
		k := key{e.TenantID, h.UnixMicro(), e.Level, e.Source}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, CountDelta{Tenant: e.TenantID, Hour: h, Level: e.Level, Source: e.Source})
		}
		out[i].N++
	}
	return out
}
