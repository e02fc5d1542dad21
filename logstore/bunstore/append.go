package bunstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

// Appends are group-committed: Append validates its batch, hands it to
// one of the store's committers and waits. A committer takes every batch
// that is waiting when it is free and writes them in one transaction, so
// that many small concurrent appends (one entry per HTTP request from many
// clients) cost one commit, one set of locks and one wake-up instead of
// one each. PostgreSQL has pgCommitters of them, so that the index upkeep
// of several groups runs on several cores (one committer wrote 16,600
// entries/s in batches of 1,000 from 4 clients on 2 cores, with a core of
// PostgreSQL idle); SQLite, which writes one transaction at a time, has one.
// No batch is acknowledged before its transaction commits. A batch refused
// on its own account (a conflict) is left out of the group; when the
// group's transaction fails, each batch is written again alone, so that a
// failing batch fails only its own Append.

const (
	// pgCommitters is the number of groups PostgreSQL writes at once.
	pgCommitters = 4
	insertChunk  = 500
	// maxGroup bounds the entries of one group transaction.
	maxGroup = 20_000
)

// pending is one Append waiting for the committer.
type pending struct {
	tenant  string
	key     int64        // the tenant's key, set by write
	in, out []logs.Entry // as given, as prepared
	metas   []string     // out's metadata, encoded
	done    chan error   // capacity 1
}

// Append implements logstore.Store.
//
// A writer-given id the tenant already has is not stored again: when the
// fields the writer gave equal the stored ones (a createdAt it left out is
// not compared) the stored entry is returned in its place, else the batch
// is refused with logs.ErrConflict naming logs[i].id. On PostgreSQL the
// key must contain the partition key (created_at), so it cannot catch a
// retry by itself: the append takes a transaction lock per (tenant, bucket
// of ids) for the writer-given ids, in one order, then looks the ids up, so
// that concurrent retries of one batch store it once. Ids the store assigns
// are new and take no lock.
func (s *Store) Append(ctx context.Context, tenant string, entries []logs.Entry) ([]logs.Entry, error) {
	out, err := logstore.Prepare(tenant, entries, s.opts.Now())
	if err != nil {
		return nil, fmt.Errorf("bunstore: append: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	metas := make([]string, len(out))
	for i := range out {
		b, err := logs.EncodeMetadata(out[i].Metadata)
		if err != nil {
			fe := err.(*logs.Error)
			return nil, fmt.Errorf("bunstore: append: %w", logs.Invalid(fmt.Sprintf("logs[%d].%s", i, fe.Field), "%s", fe.Message))
		}
		metas[i] = string(b)
	}
	p := &pending{tenant: tenant, in: entries, out: out, metas: metas, done: make(chan error, 1)}
	select {
	case s.appends <- p:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.closed:
		return nil, s.wrap("append", errStoreClosed)
	}
	// Once handed over, the batch is written whether or not ctx ends: its
	// answer is its commit's.
	if err := <-p.done; err != nil {
		return nil, s.wrap("append", err)
	}
	return out, nil
}

var errStoreClosed = fmt.Errorf("store closed: %w", logs.ErrUnavailable)

// committer writes the waiting appends, a group at a time, until Close.
func (s *Store) committer() {
	defer s.wg.Done()
	for {
		var group []*pending
		select {
		case p := <-s.appends:
			group = append(group, p)
		case <-s.bg.Done():
			s.refuseWaiting()
			return
		}
		n := len(group[0].out)
	more:
		for n < maxGroup {
			select {
			case p := <-s.appends:
				group = append(group, p)
				n += len(p.out)
			default:
				break more
			}
		}
		s.commitGroup(group)
	}
}

// refuseWaiting answers the appends still waiting when the store closes.
func (s *Store) refuseWaiting() {
	for {
		select {
		case p := <-s.appends:
			p.done <- errStoreClosed
		default:
			return
		}
	}
}

// commitGroup writes group in one transaction and answers each append;
// when that fails, it writes each alone.
func (s *Store) commitGroup(group []*pending) {
	// The group's transaction belongs to no one caller; it is bounded by
	// the store's life and a generous timeout.
	ctx, cancel := context.WithTimeout(s.bg, 2*time.Minute)
	defer cancel()
	refused, err := s.write(ctx, group)
	if err != nil && len(group) > 1 {
		for _, p := range group {
			s.commitGroup([]*pending{p})
		}
		return
	}
	for _, p := range group {
		switch {
		case refused[p] != nil:
			p.done <- refused[p]
		default:
			p.done <- err
		}
	}
	if err == nil {
		s.poke()
		s.notify()
	}
}

// write stores group in one transaction (creating the partitions it needs
// first) and returns the batches refused on their own account. A missing
// partition (another process purged one this one knew of) is created again
// once.
func (s *Store) write(ctx context.Context, group []*pending) (map[*pending]error, error) {
	// Tenant keys commit on their own: a key this process remembers must
	// exist whatever becomes of the group's transaction.
	for _, p := range group {
		k, err := s.ensureTenantKey(ctx, s.db, p.tenant)
		if err != nil {
			return nil, err
		}
		p.key = k
	}
	for attempt := 0; ; attempt++ {
		if s.pg {
			for _, p := range group {
				if err := s.ensurePartitions(ctx, p.out); err != nil {
					return nil, err
				}
			}
		}
		var refused map[*pending]error
		err := s.inConnTx(ctx, func(ctx context.Context, conn bun.Conn, tx bun.Tx) error {
			var err error
			refused, err = s.dedupe(ctx, tx, group)
			if err != nil {
				return err
			}
			if s.pg && copyRows(group, refused) >= copyFrom {
				return s.copyRows(ctx, conn, group, refused)
			}
			return s.insertRows(ctx, tx, group, refused)
		})
		if attempt == 0 && isMissingPartition(err) {
			s.parts.Clear()
			continue
		}
		return refused, err
	}
}

// copyFrom is the number of rows from which a group is written with COPY
// (PostgreSQL): below it a multi-row INSERT costs as little.
const copyFrom = 200

// copyRows counts the rows insertRows or copyRows would write.
func copyRows(group []*pending, refused map[*pending]error) int {
	n := 0
	for _, p := range group {
		if refused[p] != nil {
			continue
		}
		for _, m := range p.metas {
			if m != "" {
				n++
			}
		}
	}
	return n
}

// inConnTx runs f in a transaction on one connection of the pool, which f
// may also use directly (COPY through pgx) inside the transaction.
func (s *Store) inConnTx(ctx context.Context, f func(ctx context.Context, conn bun.Conn, tx bun.Tx) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(ctx, conn, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// copyRows writes the rows that insertRows would with COPY (binary, through
// pgx on the transaction's connection): PostgreSQL parses no statement per
// row.
func (s *Store) copyRows(ctx context.Context, conn bun.Conn, group []*pending, refused map[*pending]error) error {
	rows := make([][]any, 0, copyRows(group, refused))
	for _, p := range group {
		if refused[p] != nil {
			continue
		}
		for i, e := range p.out {
			if p.metas[i] == "" {
				continue
			}
			id, err := uuid.Parse(e.ID)
			if err != nil {
				return err
			}
			rows = append(rows, []any{p.key, e.CreatedAt.UTC(), [16]byte(id), // not uuid.UUID: pgx would encode it through its driver.Valuer, as text
				int16(levelCodes[e.Level]), idAtTime(e.ID, e.CreatedAt),
				e.Source, e.Message, storedFold(e.Message), p.metas[i]})
		}
	}
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("bunstore: COPY needs the pgx driver, have %T", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{"log_entries"},
			[]string{"tenant", "created_at", "id", "level", "id_at_time", "source", "message", "message_fold", "metadata"},
			pgx.CopyFromRows(rows))
		return err
	})
}

// insertRows inserts the rows of the group's batches that dedupe did not
// skip, in multi-row INSERTs of insertChunk rows.
func (s *Store) insertRows(ctx context.Context, tx bun.Tx, group []*pending, refused map[*pending]error) error {
	var q strings.Builder
	args := make([]any, 0, insertChunk*9)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, q.String(), args...)
		q.Reset()
		args = args[:0]
		return err
	}
	for _, p := range group {
		if refused[p] != nil {
			continue
		}
		for i, e := range p.out {
			if p.metas[i] == "" { // stored already (dedupe)
				continue
			}
			if len(args) == 0 {
				if s.pg {
					q.WriteString("INSERT INTO log_entries (tenant, created_at, id, level, source, message, message_fold, metadata, id_at_time) VALUES ")
				} else {
					q.WriteString("INSERT INTO log_entries (tenant, created_at, id, level, source, message, message_fold, metadata) VALUES ")
				}
			} else {
				q.WriteString(", ")
			}
			args = append(args, p.key, s.timeArg(e.CreatedAt), e.ID, levelCodes[e.Level], e.Source, e.Message, storedFold(e.Message), p.metas[i])
			if s.pg {
				q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?::json, ?)")
				args = append(args, idAtTime(e.ID, e.CreatedAt))
			} else {
				q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
			}
			if len(args) >= insertChunk*9 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// notify wakes the other processes' watchers (PostgreSQL NOTIFY), outside
// the appends' transactions: a NOTIFY takes a lock that serialises the
// commits of every session that sends one. At most one is in flight; the
// appends that commit meanwhile share the next.
func (s *Store) notify() {
	if !s.pg {
		return
	}
	select {
	case s.notifyReq <- struct{}{}:
	default: // one is due already
	}
}

// notifier sends the NOTIFYs that notify asks for, until Close.
func (s *Store) notifier() {
	defer s.wg.Done()
	for {
		select {
		case <-s.bg.Done():
			return
		case <-s.notifyReq:
		}
		ctx, cancel := context.WithTimeout(s.bg, 10*time.Second)
		if _, err := s.db.ExecContext(ctx, "SELECT pg_notify('log_entries', '')"); err != nil && s.bg.Err() == nil {
			s.log.Warn("bunstore: NOTIFY failed; other processes find the entries when they poll", "err", err)
		}
		cancel()
	}
}

// idBuckets is the number of transaction locks per tenant that serialise
// appends of writer-given ids (PostgreSQL): two appends wait for each other
// only when they name ids of one bucket.
const idBuckets = 64

// idKey is an id of one tenant.
type idKey struct{ tenant, id string }

// dedupe decides, for the group, which entries are stored already and
// which batches conflict: the entries stored already are replaced in their
// batch's out by the stored ones and their metas emptied (insertRows
// skips them); the conflicting batches are returned with their error. An
// id given twice in the group is stored once. An id whose stored entry (or
// earlier entry in the group) differs from what the writer gave is a
// conflict of the later batch.
func (s *Store) dedupe(ctx context.Context, tx bun.Tx, group []*pending) (map[*pending]error, error) {
	byTenant := map[tenantRef][]logs.Entry{}
	for _, p := range group {
		for i := range p.out {
			if p.in[i].ID != "" { // assigned by Prepare: new
				r := tenantRef{id: p.tenant, key: p.key}
				byTenant[r] = append(byTenant[r], p.out[i])
			}
		}
	}
	refused := map[*pending]error{}
	cutoffs, err := s.ingestCutoffs(ctx, tx, group)
	if err != nil {
		return nil, err
	}
	for _, p := range group {
		if c := cutoffs[p.tenant]; !c.IsZero() {
			for i := range p.out {
				if p.out[i].CreatedAt.Before(c) {
					refused[p] = tooOld(i, c)
					break
				}
			}
		}
	}
	if len(byTenant) == 0 {
		return refused, nil
	}
	if s.pg {
		if err := s.lockIDs(ctx, tx, byTenant); err != nil {
			return nil, err
		}
	}
	stored := map[idKey]logstore.RawEntry{}
	for tenant, es := range byTenant {
		if err := s.storedByID(ctx, tx, tenant, es, stored); err != nil {
			return nil, err
		}
	}
	// The group's first entry of each new id, by id.
	type ref struct {
		p *pending
		i int
	}
	accepted := map[idKey]ref{}
	for _, p := range group {
		if refused[p] != nil {
			continue
		}
		mine := map[idKey]int{} // this batch's first entry of each new id
		twins := map[int]ref{}  // entries equal to an earlier new entry of the group
		var dup []int           // entries stored already
		var err error
		for i := range p.out {
			if p.in[i].ID == "" {
				continue
			}
			k := idKey{p.tenant, p.out[i].ID}
			var twin logs.Entry
			var twinMeta string
			if r, ok := stored[k]; ok {
				twin, twinMeta = r.Entry, string(r.Metadata)
				dup = append(dup, i)
			} else if j, ok := mine[k]; ok {
				twin, twinMeta = p.out[j], p.metas[j]
				twins[i] = ref{p, j}
			} else if q, ok := accepted[k]; ok {
				twin, twinMeta = q.p.out[q.i], q.p.metas[q.i]
				twins[i] = q
			} else {
				mine[k] = i
				continue
			}
			if !sameEntry(p.in[i], p.out[i], p.metas[i], twin, twinMeta) {
				err = conflict(i)
				break
			}
		}
		if err != nil {
			refused[p] = err
			continue
		}
		for k, i := range mine {
			accepted[k] = ref{p, i}
		}
		for _, i := range dup {
			r := stored[idKey{p.tenant, p.out[i].ID}]
			e := r.Entry
			if e.Metadata, err = decodeMetadata(e.ID, r.Metadata); err != nil {
				return nil, err
			}
			p.out[i], p.metas[i] = e, "" // answered with the stored entry, not inserted
		}
		for i, q := range twins {
			p.out[i], p.metas[i] = q.p.out[q.i], "" // answered with its twin, which is inserted
		}
	}
	return refused, nil
}

func conflict(i int) error {
	return logs.NewError(logs.ErrConflict, fmt.Sprintf("logs[%d].id", i),
		"is an id the tenant has already, with other content; a retry must send the same entry")
}

// sameEntry reports whether the entry the writer gave (in, prepared as
// out with metadata meta) equals a stored one: every field it gave, and
// createdAt only when it gave it.
func sameEntry(in, out logs.Entry, meta string, stored logs.Entry, storedMeta string) bool {
	return out.Level == stored.Level && out.Source == stored.Source && out.Message == stored.Message &&
		meta == storedMeta && (in.CreatedAt.IsZero() || out.CreatedAt.Equal(stored.CreatedAt))
}

// lockIDs takes the transaction locks of the buckets of the ids, in
// ascending order, so that appends never deadlock on them.
func (s *Store) lockIDs(ctx context.Context, tx bun.Tx, byTenant map[tenantRef][]logs.Entry) error {
	var keys []int64
	for tenant, es := range byTenant {
		h := fnv.New64a()
		h.Write([]byte(tenant.id))
		base := int64(h.Sum64()>>1) &^ (idBuckets - 1)
		var buckets [idBuckets]bool
		for _, e := range es {
			h := fnv.New32a()
			h.Write([]byte(e.ID))
			buckets[h.Sum32()%idBuckets] = true
		}
		for b, on := range buckets {
			if on {
				keys = append(keys, base|int64(b))
			}
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), 256)]
		keys = keys[len(chunk):]
		var q strings.Builder
		q.WriteString("SELECT ")
		for i, k := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "pg_advisory_xact_lock(%d)", k)
		}
		if _, err := tx.ExecContext(ctx, q.String()); err != nil {
			return err
		}
	}
	return nil
}

// storedByID adds the tenant's stored entries among the ids of es to out.
// SQLite finds them through UNIQUE (tenant, id). PostgreSQL has no index
// of every id: an entry whose id is a UUIDv7 of its createdAt's
// millisecond (id_at_time; the store's own ids, the client library's) is
// found through the time index in that millisecond, any other through the
// partial index of ids (NOT id_at_time).
func (s *Store) storedByID(ctx context.Context, tx bun.IDB, tenant tenantRef, es []logs.Entry, out map[idKey]logstore.RawEntry) error {
	for len(es) > 0 {
		chunk := es[:min(len(es), 1000)]
		es = es[len(chunk):]
		ids := make([]string, len(chunk))
		for i, e := range chunk {
			ids[i] = e.ID
		}
		var q string
		var args []any
		if !s.pg {
			q, args = "SELECT "+s.cols()+" FROM log_entries WHERE tenant = ? AND id IN (?)", []any{tenant.key, bun.In(ids)}
		} else {
			q = "SELECT " + s.cols() + " FROM log_entries WHERE tenant = ? AND NOT id_at_time AND id IN (?)"
			args = []any{tenant.key, bun.In(ids)}
			var times []time.Time
			var v7 []string
			for _, e := range chunk {
				if u, err := uuid.Parse(e.ID); err == nil && u.Version() == 7 {
					sec, nsec := u.Time().UnixTime()
					times = append(times, time.Unix(sec, nsec).UTC().Truncate(time.Millisecond))
					v7 = append(v7, e.ID)
				}
			}
			if len(v7) > 0 {
				q += ` UNION ALL SELECT e.id::text, e.tenant, e.created_at, e.level, e.source, e.message, e.metadata::text
					FROM unnest(CAST(? AS timestamptz[]), CAST(? AS uuid[])) AS k (at, uid)
					JOIN log_entries e ON e.tenant = ? AND e.id_at_time AND e.created_at >= k.at
						AND e.created_at < k.at + interval '1 millisecond' AND e.id = k.uid`
				args = append(args, pgdialect.Array(times), pgdialect.Array(v7), tenant.key)
			}
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			r, err := s.scanEntry(ctx, rows)
			if err != nil {
				rows.Close()
				return err
			}
			out[idKey{tenant.id, r.Entry.ID}] = r
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
