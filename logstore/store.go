package logstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
)

// Store keeps the log entries of many tenants. Every method takes the tenant
// explicitly and never returns another tenant's entries.
type Store interface {
	// Append stores a batch of entries for tenant, atomically: all or none.
	// Entries are validated ([Prepare]); the store assigns a UUIDv7 id and
	// createdAt (now) where they are missing. An entry whose id the tenant
	// already has is not stored again, so a retried batch creates no
	// duplicates. It returns the entries as stored, in the order given.
	Append(ctx context.Context, tenant string, entries []logs.Entry) ([]logs.Entry, error)

	// Query returns the page f.Page (of f.Limit entries, defaults applied)
	// of the tenant's entries that match f, newest first, or with f.After
	// set the f.Limit entries after that position; the number of all
	// matches; and whether more entries follow the page. A page past the
	// end has no entries and the same total. The page and the total are
	// of one moment.
	Query(ctx context.Context, tenant string, f logquery.Filter) (Page, error)

	// Scan yields every entry of tenant that matches f (paging ignored),
	// newest first. With a non-empty snapshot it yields only entries
	// visible in it. Memory does not grow with the number of entries; the
	// iteration stops at the first error, which it yields.
	Scan(ctx context.Context, tenant string, f logquery.Filter, snap Snapshot) iter.Seq2[logs.Entry, error]

	// Count returns the number of entries Scan would yield.
	Count(ctx context.Context, tenant string, f logquery.Filter, snap Snapshot) (int64, error)

	// Snapshot returns the set of entries visible now.
	Snapshot(ctx context.Context) (Snapshot, error)

	// Head returns a cursor at or behind the watermark: every entry that
	// After will ever hand out beyond it became visible at or after the
	// moment of the call, or shortly before it.
	Head(ctx context.Context) (Cursor, error)

	// After returns up to limit entries with a cursor beyond after, in
	// cursor order, of tenant ("" for every tenant: the process-wide
	// tailer). It hands out only entries below the visibility watermark,
	// so no entry can later appear with a cursor before one returned.
	After(ctx context.Context, tenant string, after Cursor, limit int) ([]Record, error)

	// Watch returns a channel that receives a value, coalesced, after
	// entries may have been appended: at once for appends through this
	// Store, and for appends by other processes where the database can
	// tell (PostgreSQL LISTEN/NOTIFY). The channel is closed when ctx ends
	// or the store closes. It never blocks writers.
	Watch(ctx context.Context) <-chan struct{}

	// Stats returns the counts of tenant's entries that match f (paging
	// ignored): in all, by level, by source, and per bucket of interval
	// (one of Intervals) over the range of f (to now when it has no end,
	// from the oldest bucket with entries when it has no start), newest
	// bucket first, empty buckets included. Exact like Query's total. A
	// range of more than MaxBuckets buckets is an error wrapping
	// logs.ErrInvalid naming "interval".
	Stats(ctx context.Context, tenant string, f logquery.Filter, interval time.Duration) (Stats, error)

	// Purge removes entries created before t, as far as the database can
	// do so cheaply (whole partitions on PostgreSQL), and returns how many
	// it removed (-1 when the database does not say).
	Purge(ctx context.Context, before time.Time) (int64, error)

	// Close releases the store; it waits for its goroutines.
	Close() error
}

// Page is one page of a list query.
type Page struct {
	Entries []logs.Entry
	Total   int64
	More    bool // entries follow the last of Entries
}

// Stats are the counts of Store.Stats.
type Stats struct {
	Total   int64
	Levels  map[logs.Level]int64
	Sources map[string]int64
	Buckets []Bucket // newest first
}

// Bucket is the count of one interval of Stats, starting at Start.
type Bucket struct {
	Start  time.Time
	Count  int64
	Levels map[logs.Level]int64
}

// Intervals are the bucket widths of Stats.
var Intervals = []time.Duration{time.Minute, 5 * time.Minute, time.Hour, 24 * time.Hour}

// MaxBuckets bounds the buckets of one Stats answer.
const MaxBuckets = 2000

// Record is an entry with its cursor.
type Record struct {
	Cursor Cursor
	Entry  logs.Entry
}

// Cursor is a position in the order entries became visible. On PostgreSQL
// Epoch is the writing transaction's id and Seq a sequence value; on SQLite
// Epoch is 0. Cursors compare by (Epoch, Seq). The zero Cursor is before
// every entry.
type Cursor struct {
	Epoch uint64
	Seq   int64
}

// Less reports whether c is before d.
func (c Cursor) Less(d Cursor) bool {
	return c.Epoch < d.Epoch || c.Epoch == d.Epoch && c.Seq < d.Seq
}

// IsZero reports whether c is the zero cursor.
func (c Cursor) IsZero() bool { return c == Cursor{} }

// String renders c as "epoch.seq" in base 36; [ParseCursor] reads it back.
// Transports that hand cursors to clients should seal them (see logstream).
func (c Cursor) String() string {
	return strconv.FormatUint(c.Epoch, 36) + "." + strconv.FormatInt(c.Seq, 36)
}

// ParseCursor reads a cursor written by [Cursor.String].
func ParseCursor(s string) (Cursor, error) {
	a, b, ok := strings.Cut(s, ".")
	if !ok || len(s) > 32 {
		return Cursor{}, fmt.Errorf("logstore: cursor %q: %w", s, logs.ErrInvalid)
	}
	e, err1 := strconv.ParseUint(a, 36, 64)
	q, err2 := strconv.ParseInt(b, 36, 64)
	if err1 != nil || err2 != nil || q < 0 || e > 1<<62 {
		return Cursor{}, fmt.Errorf("logstore: cursor %q: %w", s, logs.ErrInvalid)
	}
	return Cursor{Epoch: e, Seq: q}, nil
}

// Snapshot names the entries visible at one moment. It is opaque text that
// can be stored (an export job keeps it) and given back to the same
// database; the empty Snapshot means "whatever is visible now".
type Snapshot string

// MaxFutureSkew is how far in the future a writer's createdAt may be.
const MaxFutureSkew = 24 * time.Hour

// minCreatedAt is the earliest createdAt accepted.
var minCreatedAt = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// Prepare validates a batch for tenant and returns a copy ready to store:
// TenantID set, ID canonical (a new UUIDv7 of the entry's createdAt where
// missing: see NewID), CreatedAt in UTC truncated to microseconds (where
// missing, the time of a writer-given UUIDv7 id, else now). Errors are *logs.Error naming
// "logs[i].field"; an entry whose TenantID names another tenant is invalid.
func Prepare(tenant string, entries []logs.Entry, now time.Time) ([]logs.Entry, error) {
	if err := logs.ValidateTenant("tenantId", tenant); err != nil {
		return nil, err
	}
	out := make([]logs.Entry, len(entries))
	maxT := now.Add(MaxFutureSkew)
	for i, e := range entries {
		field := func(err error) error {
			fe := err.(*logs.Error)
			return logs.Invalid(fmt.Sprintf("logs[%d].%s", i, fe.Field), "%s", fe.Message)
		}
		if err := e.Validate(); err != nil {
			return nil, field(err)
		}
		if e.TenantID != "" && e.TenantID != tenant {
			return nil, field(logs.Invalid("tenantId", "names another tenant than the one written to"))
		}
		e.TenantID = tenant
		if e.ID != "" {
			id, err := uuid.Parse(e.ID)
			if err != nil || len(e.ID) != 36 {
				return nil, field(logs.Invalid("id", "must be a UUID such as 0192f7a0-3b1c-7d2e-8f00-1a2b3c4d5e6f"))
			}
			e.ID = id.String()
			if e.CreatedAt.IsZero() && id.Version() == 7 {
				sec, nsec := id.Time().UnixTime()
				e.CreatedAt = time.Unix(sec, nsec)
			}
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = now
		}
		e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Microsecond)
		if e.CreatedAt.Before(minCreatedAt) || e.CreatedAt.After(maxT) {
			return nil, field(logs.Invalid("createdAt", "must be between 1970 and %s from now", MaxFutureSkew))
		}
		if e.ID == "" {
			id, err := NewID(e.CreatedAt)
			if err != nil {
				return nil, fmt.Errorf("logstore: new id: %w: %w", logs.ErrInternal, err)
			}
			e.ID = id
		}
		out[i] = e
	}
	return out, nil
}

// NewID returns a new entry id: a UUIDv7 (RFC 9562) whose timestamp is t's
// millisecond and whose other 74 bits are random. Ids made so sort by the
// time of their entry, and a store can find an entry by its id through its
// time; writers that give their entries ids (for retries) should make them
// this way.
func NewID(t time.Time) (string, error) {
	var u uuid.UUID
	if _, err := rand.Read(u[6:]); err != nil {
		return "", err
	}
	ms := uint64(t.UnixMilli())
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u.String(), nil
}

// RawEntry is an entry whose metadata is still the JSON object the store
// keeps (compact, as encoding/json writes it); Entry.Metadata is nil.
type RawEntry struct {
	Entry    logs.Entry
	Metadata json.RawMessage
}

// RawScanner is implemented by stores that can scan without decoding the
// metadata, for writers that copy it out as JSON (export). ScanRaw yields
// what Scan yields, in the same order.
type RawScanner interface {
	ScanRaw(ctx context.Context, tenant string, f logquery.Filter, snap Snapshot) iter.Seq2[RawEntry, error]
}
