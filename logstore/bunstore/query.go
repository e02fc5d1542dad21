package bunstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

// seekFrom is the offset from which a page is found through the rollups
// (seek) rather than by skipping rows: below it the skip is cheap.
const seekFrom = 2000

// Query implements logstore.Store. The total and the page are read in one
// snapshot (a read-only transaction: REPEATABLE READ on PostgreSQL, one WAL
// snapshot on SQLite). A page after a
// position (f.After, the list's cursor) is a range of the (tenant_id,
// created_at, id) index: constant cost at any depth. A deep page by number
// without search is found through the rollups (seek) instead of skipping
// every entry before it.
func (s *Store) Query(ctx context.Context, tenant string, f logquery.Filter) (logstore.Page, error) {
	f = f.WithDefaults()
	if err := f.Validate(); err != nil {
		return logstore.Page{}, fmt.Errorf("bunstore: query: %w", err)
	}
	var page logstore.Page
	run := func(ctx context.Context, db bun.IDB) error {
		f, none, err := s.retained(ctx, db, tenant, f)
		if err != nil {
			return err
		}
		key, ok, err := s.tenantKey(ctx, db, tenant)
		if err != nil {
			return err
		}
		if none || !ok {
			page.Entries = []logs.Entry{}
			return nil
		}
		ref := tenantRef{id: tenant, key: key}
		offset := int64(f.Offset())
		deep := f.After.IsZero() && f.Search == "" && offset >= seekFrom
		var before time.Time
		var rest int64
		if deep {
			// The daily counts that the seek walks sum to the total: one
			// read of them serves both.
			var found bool
			if before, rest, page.Total, found, err = s.seek(ctx, db, ref, f, offset); err != nil {
				return err
			}
			if !found {
				page.Entries = []logs.Entry{}
				return nil
			}
		} else {
			if page.Total, err = s.total(ctx, db, ref, f); err != nil {
				return err
			}
			if f.After.IsZero() && offset >= page.Total {
				page.Entries = []logs.Entry{}
				return nil
			}
		}
		where, args, err := s.where(key, f, "")
		if err != nil {
			return err
		}
		switch {
		case !f.After.IsZero():
			where += " AND (created_at, id) < (?, " + s.idArg() + ")"
			args = append(args, s.timeArg(f.After.CreatedAt), f.After.ID)
			offset = 0
		case deep:
			where += " AND created_at < ?"
			args = append(args, s.timeArg(before))
			offset = rest
		}
		q := "SELECT " + s.cols() + " FROM log_entries WHERE " + where +
			" ORDER BY log_entries.created_at DESC, log_entries.id DESC LIMIT ? OFFSET ?"
		page.Entries, err = s.queryEntries(ctx, db, q, append(args, f.Limit+1, offset)...)
		if err != nil {
			return s.wrap("query", err)
		}
		if len(page.Entries) > f.Limit {
			page.Entries, page.More = page.Entries[:f.Limit], true
		}
		return nil
	}
	if err := s.inSnapshot(ctx, f.Search == "", run); err != nil {
		return logstore.Page{}, s.wrap("query", err)
	}
	return page, nil
}

// inSnapshot runs f in a read-only transaction whose statements share one
// snapshot: REPEATABLE READ on PostgreSQL; on SQLite a deferred BEGIN (not
// the IMMEDIATE of the writers), whose reads share one WAL snapshot.
// Outside one, an append could commit between a total and its page, or
// the rollup consumer advance between its checkpoint and its counts.
//
// With serial (reads whose cost is bounded by the rollups: totals, stats
// and pages without search), PostgreSQL plans them without parallel
// workers: the planner chose a parallel plan for the 90-day stats of the
// 2M-entry tenant of logsbench, whose work took 2.5 ms and whose workers
// took 10 ms more to start. A search keeps them: its count through the
// trigram index is a third faster with them.
func (s *Store) inSnapshot(ctx context.Context, serial bool, f func(ctx context.Context, db bun.IDB) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.pg {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return s.db.RunInTx(ctx, opts, func(ctx context.Context, tx bun.Tx) error {
		if s.pg && serial {
			if _, err := tx.ExecContext(ctx, "SET LOCAL max_parallel_workers_per_gather = 0"); err != nil {
				return err
			}
		}
		return f(ctx, tx)
	})
}

// idArg is the placeholder of an id compared with the id column.
func (s *Store) idArg() string {
	if s.pg {
		return "CAST(? AS uuid)"
	}
	return "?"
}

// seek finds where the entry at offset (newest first) of f's matches lies,
// from the rollups: the day that holds it (daily counts), then the hour in
// that day (hourly counts). It returns the end of that hour (entries
// before it, newest first) and how many of them come before the entry
// (less than the hour's count), with the total of f (the sum of the daily
// counts); found is false when offset is at or past the total. The counts
// are those of Stats, exact.
func (s *Store) seek(ctx context.Context, db bun.IDB, tenant tenantRef, f logquery.Filter, offset int64) (end time.Time, rest, total int64, found bool, err error) {
	cp, err := s.rollupMark(ctx, db)
	if err != nil {
		return time.Time{}, 0, 0, false, err
	}
	counts := func(g logquery.Filter, days bool) ([]int64, map[int64]int64, error) {
		q, args := s.statsRollupSQL(tenant, g, days, cp)
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, nil, s.wrap("seek", err)
		}
		defer rows.Close()
		unit := time.Hour.Microseconds()
		if days {
			unit *= 24
		}
		by := map[int64]int64{}
		for rows.Next() {
			var b, n int64
			var level, source string
			if err := rows.Scan(&b, &level, &source, &n); err != nil {
				return nil, nil, s.wrap("seek", err)
			}
			by[floor(b, unit)] += n
		}
		if err := rows.Err(); err != nil {
			return nil, nil, s.wrap("seek", err)
		}
		keys := make([]int64, 0, len(by))
		for k := range by {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		slices.Reverse(keys)
		return keys, by, nil
	}
	// walk returns the bucket that holds offset and the offset within it.
	walk := func(keys []int64, by map[int64]int64, offset int64) (int64, int64, bool) {
		for _, k := range keys {
			if offset < by[k] {
				return k, offset, true
			}
			offset -= by[k]
		}
		return 0, 0, false
	}
	keys, by, err := counts(f, true)
	if err != nil {
		return time.Time{}, 0, 0, false, err
	}
	for _, n := range by {
		total += n
	}
	day, rest, ok := walk(keys, by, offset)
	if !ok {
		return time.Time{}, 0, total, false, nil
	}
	g := f
	from, to := time.UnixMicro(day).UTC(), time.UnixMicro(day).UTC().Add(24*time.Hour-time.Microsecond)
	if g.Start.IsZero() || g.Start.Before(from) {
		g.Start = from
	}
	if g.End.IsZero() || g.End.After(to) {
		g.End = to
	}
	// Offsets in the day count from its newest entry: entries after the
	// day (newer) are the ones walk skipped.
	keys, by, err = counts(g, false)
	if err != nil {
		return time.Time{}, 0, 0, false, err
	}
	hour, rest, ok := walk(keys, by, rest)
	if !ok {
		return time.Time{}, 0, 0, false, fmt.Errorf("bunstore: seek past the day: %w", logs.ErrInternal)
	}
	end = time.UnixMicro(hour).UTC().Add(time.Hour)
	if !f.End.IsZero() && f.End.Before(end) {
		end = f.End.Add(time.Microsecond)
	}
	return end, rest, total, true, nil
}
