package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

// Exact totals from the rollups (DESIGN "Totals and charts"). The rollup
// consumer keeps log_counts_hour and log_counts_day: the counts, by
// tenant, level and source, of every entry up to its checkpoint, committed
// with it. The total of a filter without search is then, in one snapshot
// (the checkpoint read first, then one statement, in one read transaction,
// so that the rollups, the checkpoint and the entries agree):
//
//	the daily counts of the days wholly inside the range
//	+ the hourly counts of the other hours wholly inside it
//	+ a direct count of the entries in the partial hours at its edges
//	+ a direct count of the entries inside whole hours that the consumer
//	  has not reached yet (cursor beyond its checkpoint: a short range of
//	  the (tenant_id, xid, seq) index).
//
// Exact at every moment, whatever the consumer's lag: entries it has not
// applied are counted directly, entries it has are in the rollups, and no
// entry is both.

// span is a half-open interval of microseconds since the epoch; a nil
// bound is open.
type span struct {
	lo, hi *int64
	none   bool // the empty span
}

func (p span) cond(col string) (string, []any) {
	var conds []string
	var args []any
	if p.lo != nil {
		conds = append(conds, col+" >= ?")
		args = append(args, *p.lo)
	}
	if p.hi != nil {
		conds = append(conds, col+" < ?")
		args = append(args, *p.hi)
	}
	if len(conds) == 0 {
		return "TRUE", nil
	}
	return strings.Join(conds, " AND "), args
}

func (p span) empty() bool { return p.none || p.lo != nil && p.hi != nil && *p.lo >= *p.hi }

// gap is the span between two boundaries of a plan, [lo, hi): empty when
// either is open (a gap between two open bounds of one side holds
// nothing).
func gap(lo, hi *int64) span {
	if lo == nil || hi == nil {
		return span{none: true}
	}
	return span{lo: lo, hi: hi}
}

func ptr(v int64) *int64 { return &v }

// countPlan splits the time range of f into the parts the total is made
// of: days and hours wholly inside it (from the rollups) and the edges
// (counted directly).
type countPlan struct {
	all       span // the whole range [start, end]
	hours     span // whole hours inside it
	days      span // whole days inside the hours
	interior  bool // hours is not empty
	dayFilled bool // days is not empty
}

func planCount(f logquery.Filter) countPlan {
	var p countPlan
	if !f.Start.IsZero() {
		p.all.lo = ptr(startMicro(f.Start).UnixMicro())
	}
	if !f.End.IsZero() {
		p.all.hi = ptr(f.End.UnixMicro() + 1) // End is inclusive
	}
	const hour, day = int64(time.Hour / time.Microsecond), int64(24 * time.Hour / time.Microsecond)
	ceil := func(v, unit int64) int64 { return floor(v+unit-1, unit) }
	p.hours = p.all
	if p.all.lo != nil {
		p.hours.lo = ptr(ceil(*p.all.lo, hour))
	}
	if p.all.hi != nil {
		p.hours.hi = ptr(floor(*p.all.hi, hour))
	}
	p.interior = !p.hours.empty()
	p.days = p.hours
	if p.hours.lo != nil {
		p.days.lo = ptr(ceil(*p.hours.lo, day))
	}
	if p.hours.hi != nil {
		p.days.hi = ptr(floor(*p.hours.hi, day))
	}
	p.dayFilled = p.interior && !p.days.empty()
	return p
}

// floor rounds v down to a multiple of unit (also below zero).
func floor(v, unit int64) int64 {
	q := v / unit
	if v%unit != 0 && v < 0 {
		q--
	}
	return q * unit
}

// tenantRef is a tenant as the log table (key) and the rollups (id) name
// it.
type tenantRef struct {
	id  string
	key int64
}

// keyConds are the conditions of f's level and source, on the log table
// (entries: the level's code) or on the rollups (its name).
func keyConds(f logquery.Filter, entries bool) (string, []any) {
	var conds string
	var args []any
	if f.Level != "" {
		conds += " AND level = ?"
		if entries {
			args = append(args, levelCodes[f.Level])
		} else {
			args = append(args, string(f.Level))
		}
	}
	if f.Source != "" {
		conds += " AND source = ?"
		args = append(args, f.Source)
	}
	return conds, args
}

// totalSQL is the statement that counts tenant's entries matching f (no
// search) from the rollups and the entries; it scans one column, the
// total.
func (s *Store) totalSQL(tenant tenantRef, f logquery.Filter, cp logstore.Cursor) (string, []any) {
	p := planCount(f)
	entryConds, entryArgs := keyConds(f, true)
	rollupConds, rollupArgs := keyConds(f, false)
	var parts []string
	var args []any
	direct := func(extra string, extraArgs []any, sp ...span) {
		var ors []string
		var spanArgs []any
		for _, x := range sp {
			if x.empty() {
				continue
			}
			c, a := s.timeSpan(x)
			ors = append(ors, "("+c+")")
			spanArgs = append(spanArgs, a...)
		}
		if len(ors) == 0 {
			return
		}
		parts = append(parts, "(SELECT count(*) FROM log_entries WHERE tenant = ?"+entryConds+
			" AND ("+strings.Join(ors, " OR ")+")"+extra+")")
		args = append(args, tenant.key)
		args = append(args, entryArgs...)
		args = append(args, spanArgs...)
		args = append(args, extraArgs...)
	}
	rollup := func(table string, sp ...span) {
		var ors []string
		var spanArgs []any
		for _, x := range sp {
			if x.empty() {
				continue
			}
			c, a := x.cond("bucket")
			ors = append(ors, "("+c+")")
			spanArgs = append(spanArgs, a...)
		}
		if len(ors) == 0 {
			return
		}
		parts = append(parts, "(SELECT coalesce(sum(n), 0) FROM "+table+" WHERE tenant_id = ?"+rollupConds+
			" AND ("+strings.Join(ors, " OR ")+"))")
		args = append(args, tenant.id)
		args = append(args, rollupArgs...)
		args = append(args, spanArgs...)
	}
	s.countParts(p, true, cp, direct, rollup)
	return "SELECT " + strings.Join(parts, " + "), args
}

// countParts walks the parts a count of plan p is made of (see the top of
// this file): direct counts of the edges and of what the rollup consumer
// has not applied yet (beyond its checkpoint cp, read by rollupMark in the
// same snapshot), and the rollups of whole days (when days) and whole
// hours.
func (s *Store) countParts(p countPlan, days bool, cp logstore.Cursor, direct func(extra string, extraArgs []any, sp ...span), rollup func(table string, sp ...span)) {
	if !p.interior {
		direct("", nil, p.all)
		return
	}
	// Edges: [start, first whole hour) and [end of the last whole hour, end].
	direct("", nil, gap(p.all.lo, p.hours.lo), gap(p.hours.hi, p.all.hi))
	if days && p.dayFilled {
		rollup("log_counts_day", p.days)
		rollup("log_counts_hour", gap(p.hours.lo, p.days.lo), gap(p.days.hi, p.hours.hi))
	} else {
		rollup("log_counts_hour", p.hours)
	}
	// What the rollups do not hold yet.
	cond, cpArgs := s.beyondCheckpoint(cp)
	direct(" AND "+cond, cpArgs, p.hours)
}

// timeSpan is the condition on created_at for a span of microseconds.
func (s *Store) timeSpan(x span) (string, []any) {
	c, a := x.cond("created_at")
	if s.pg {
		for i := range a {
			a[i] = time.UnixMicro(a[i].(int64)).UTC()
		}
	}
	return c, a
}

// rollupMark reads the rollup consumer's checkpoint (the zero cursor when
// it has none). The caller reads it in the snapshot of the count that
// uses it (a transaction: REPEATABLE READ on PostgreSQL, one WAL snapshot
// on SQLite), so that the rollups and the checkpoint agree. The count
// then names the checkpoint as values, not as a subquery: the planner
// sees that few entries lie beyond it and reads them from the cursor
// index; with a subquery it guessed a third of the tenant and chose plans
// that cost hundreds of milliseconds on a tenant of millions.
func (s *Store) rollupMark(ctx context.Context, db bun.IDB) (logstore.Cursor, error) {
	var epoch, seq int64
	err := db.QueryRowContext(ctx, "SELECT epoch, seq FROM log_consumers WHERE name = ?", logstore.RollupConsumer).Scan(&epoch, &seq)
	if errors.Is(err, sql.ErrNoRows) {
		return logstore.Cursor{}, nil
	}
	if err != nil {
		return logstore.Cursor{}, s.wrap("rollup checkpoint", err)
	}
	return logstore.Cursor{Epoch: uint64(epoch), Seq: seq}, nil
}

// beyondCheckpoint is the condition "the entry's cursor is beyond cp" (every
// entry, for the zero cursor), with the leading column's bound on its own
// so that the (tenant, xid) index serves it.
func (s *Store) beyondCheckpoint(cp logstore.Cursor) (string, []any) {
	c, a := s.afterCond(cp)
	if s.pg {
		return "xid >= CAST(? AS xid8) AND " + c, append([]any{fmt.Sprint(cp.Epoch)}, a...)
	}
	return c, a
}

// total counts tenant's entries that match f: from the rollups when f has
// no search, else directly.
func (s *Store) total(ctx context.Context, db bun.IDB, tenant tenantRef, f logquery.Filter) (int64, error) {
	var q string
	var args []any
	if f.Search != "" {
		where, a, err := s.where(tenant.key, f, "")
		if err != nil {
			return 0, err
		}
		q, args = "SELECT count(*) FROM log_entries WHERE "+where, a
	} else {
		cp, err := s.rollupMark(ctx, db)
		if err != nil {
			return 0, err
		}
		q, args = s.totalSQL(tenant, f, cp)
	}
	var n int64
	if err := db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, s.wrap("count", err)
	}
	return n, nil
}
