package bunstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

// Stats implements logstore.Store. Without search and with an interval of
// an hour or a day it reads the rollups as the total does (counts.go):
// whole days (for a daily interval) and whole hours from the rollups, the
// partial hours at the edges and what the rollup consumer has not applied
// yet counted directly, each grouped by hour, level and source, in one
// statement; the rows are then summed into the buckets. With a search, or
// a finer interval, it groups the matching entries directly.
func (s *Store) Stats(ctx context.Context, tenant string, f logquery.Filter, interval time.Duration) (logstore.Stats, error) {
	if !slices.Contains(logstore.Intervals, interval) {
		return logstore.Stats{}, fmt.Errorf("bunstore: stats: %w", logs.Invalid("interval", "must be one of 1m, 5m, 1h, 1d"))
	}
	if err := f.Validate(); err != nil {
		return logstore.Stats{}, fmt.Errorf("bunstore: stats: %w", err)
	}
	f = f.WithDefaults()
	f, none, err := s.retained(ctx, s.db, tenant, f)
	if err != nil {
		return logstore.Stats{}, err
	}
	key, ok, err := s.tenantKey(ctx, s.db, tenant)
	if err != nil {
		return logstore.Stats{}, err
	}
	if none || !ok {
		f.Start = f.End // a range that holds nothing: the buckets of the range, empty
		if f.Start.IsZero() {
			f.Start, f.End = s.opts.Now().UTC(), s.opts.Now().UTC()
		}
	}
	ref := tenantRef{id: tenant, key: key}
	now := s.opts.Now().UTC()
	unit := interval.Microseconds()
	end := now
	if !f.End.IsZero() {
		end = f.End
	}
	if !f.Start.IsZero() {
		if n := (floor(end.UnixMicro(), unit)-floor(f.Start.UnixMicro(), unit))/unit + 1; n > logstore.MaxBuckets {
			return logstore.Stats{}, fmt.Errorf("bunstore: stats: %w", logs.Invalid("interval",
				"makes %d buckets of this range; at most %d are answered: choose a longer interval or a shorter range", n, logstore.MaxBuckets))
		}
	}
	st := logstore.Stats{Levels: map[logs.Level]int64{}, Sources: map[string]int64{}}
	byBucket := map[int64]*logstore.Bucket{}
	oldest := int64(0)
	err = s.inSnapshot(ctx, f.Search == "" && interval >= time.Hour, func(ctx context.Context, db bun.IDB) error {
		var q string
		var args []any
		if f.Search == "" && interval >= time.Hour {
			cp, err := s.rollupMark(ctx, db)
			if err != nil {
				return err
			}
			q, args = s.statsRollupSQL(ref, f, interval == 24*time.Hour, cp)
		} else {
			where, a, err := s.where(ref.key, f, "")
			if err != nil {
				return err
			}
			q = "SELECT " + s.bucketExpr(unit) + " AS b, " + s.levelNameExpr() + ", source, count(*) FROM log_entries WHERE " + where + " GROUP BY 1, 2, 3"
			args = a
		}
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b, n int64
			var level, source string
			if err := rows.Scan(&b, &level, &source, &n); err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			b = floor(b, unit)
			bk := byBucket[b]
			if bk == nil {
				bk = &logstore.Bucket{Start: time.UnixMicro(b).UTC(), Levels: map[logs.Level]int64{}}
				byBucket[b] = bk
			}
			bk.Count += n
			bk.Levels[logs.Level(level)] += n
			st.Total += n
			st.Levels[logs.Level(level)] += n
			st.Sources[source] += n
			if oldest == 0 || b < oldest {
				oldest = b
			}
		}
		return rows.Err()
	})
	if err != nil {
		return logstore.Stats{}, s.wrap("stats", err)
	}
	first := oldest
	if !f.Start.IsZero() {
		first = floor(f.Start.UnixMicro(), unit)
	} else if len(byBucket) == 0 {
		first = floor(end.UnixMicro(), unit)
	}
	last := floor(end.UnixMicro(), unit)
	for b := range byBucket {
		last = max(last, b) // entries up to a day ahead
	}
	if n := (last-first)/unit + 1; n > logstore.MaxBuckets {
		return logstore.Stats{}, fmt.Errorf("bunstore: stats: %w", logs.Invalid("interval",
			"makes %d buckets from the oldest entry to the end; at most %d are answered: choose a longer interval or give startDate", n, logstore.MaxBuckets))
	}
	for b := last; b >= first; b -= unit {
		if bk := byBucket[b]; bk != nil {
			st.Buckets = append(st.Buckets, *bk)
		} else {
			st.Buckets = append(st.Buckets, logstore.Bucket{Start: time.UnixMicro(b).UTC(), Levels: map[logs.Level]int64{}})
		}
	}
	return st, nil
}

// levelNameExpr is the level of a log_entries row by name, as the rollups
// keep it.
func (s *Store) levelNameExpr() string {
	return "CASE level WHEN 0 THEN 'info' WHEN 1 THEN 'warn' ELSE 'error' END"
}

// bucketExpr is created_at in microseconds rounded down to unit.
func (s *Store) bucketExpr(unit int64) string {
	if s.pg {
		return fmt.Sprintf("(floor(extract(epoch FROM created_at) * 1000000 / %d) * %d)::bigint", unit, unit)
	}
	return fmt.Sprintf("(created_at / %d * %d)", unit, unit) // created_at is never negative
}

// statsRollupSQL is the statement behind Stats of a filter without search
// at an hourly (daily with days) interval: rows (bucket, level, source, n)
// whose n sum to the exact counts (see totalSQL), buckets of an hour, or of
// a day for the whole days when days is set.
func (s *Store) statsRollupSQL(tenant tenantRef, f logquery.Filter, days bool, cp logstore.Cursor) (string, []any) {
	p := planCount(f)
	entryConds, entryArgs := keyConds(f, true)
	rollupConds, rollupArgs := keyConds(f, false)
	hour := time.Hour.Microseconds()
	var parts []string
	var args []any
	spans := func(conv func(span) (string, []any), sp ...span) (string, []any) {
		var ors []string
		var a []any
		for _, x := range sp {
			if x.empty() {
				continue
			}
			c, ca := conv(x)
			ors = append(ors, "("+c+")")
			a = append(a, ca...)
		}
		if len(ors) == 0 {
			return "", nil
		}
		return strings.Join(ors, " OR "), a
	}
	direct := func(extra string, extraArgs []any, sp ...span) {
		c, a := spans(s.timeSpan, sp...)
		if c == "" {
			return
		}
		parts = append(parts, "SELECT "+s.bucketExpr(hour)+", "+s.levelNameExpr()+", source, count(*) FROM log_entries WHERE tenant = ?"+
			entryConds+" AND ("+c+")"+extra+" GROUP BY 1, 2, 3")
		args = append(args, tenant.key)
		args = append(args, entryArgs...)
		args = append(args, a...)
		args = append(args, extraArgs...)
	}
	rollup := func(table string, sp ...span) {
		c, a := spans(func(x span) (string, []any) { return x.cond("bucket") }, sp...)
		if c == "" {
			return
		}
		parts = append(parts, "SELECT bucket, level, source, n FROM "+table+" WHERE tenant_id = ?"+rollupConds+" AND ("+c+")")
		args = append(args, tenant.id)
		args = append(args, rollupArgs...)
		args = append(args, a...)
	}
	s.countParts(p, days, cp, direct, rollup)
	return strings.Join(parts, " UNION ALL "), args
}
