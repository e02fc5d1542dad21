package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

// Durable consumers live in log_consumers: a checkpoint (epoch, seq), a
// lease (owner, lease_until) and two times, microseconds since the epoch.

type consumerRow struct {
	Name       string `bun:"name"`
	Epoch      int64  `bun:"epoch"`
	Seq        int64  `bun:"seq"`
	Owner      string `bun:"owner"`
	LeaseUntil int64  `bun:"lease_until"`
	AdvancedAt int64  `bun:"advanced_at"`
	HeadAt     int64  `bun:"head_at"`
}

func (r *consumerRow) state() logstore.ConsumerState {
	return logstore.ConsumerState{
		Name: r.Name, Checkpoint: logstore.Cursor{Epoch: uint64(r.Epoch), Seq: r.Seq},
		Owner: r.Owner, LeaseUntil: fromUS(r.LeaseUntil), AdvancedAt: fromUS(r.AdvancedAt), HeadAt: fromUS(r.HeadAt),
	}
}

const consumerColumns = "name, epoch, seq, owner, lease_until, advanced_at, head_at"

// ClaimConsumer implements logstore.Consumers.
func (s *Store) ClaimConsumer(ctx context.Context, name, owner string, start logstore.Cursor, now, leaseUntil time.Time) (logstore.ConsumerState, bool, error) {
	if name == "" || owner == "" {
		return logstore.ConsumerState{}, false, fmt.Errorf("bunstore: claim consumer: a name and an owner are required: %w", logs.ErrInvalid)
	}
	var r consumerRow
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO log_consumers (name, epoch, seq) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
			name, int64(start.Epoch), start.Seq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE log_consumers SET owner = ?, lease_until = ?
			WHERE name = ? AND (owner = ? OR owner = '' OR lease_until < ?)`,
			owner, us(leaseUntil), name, owner, us(now)); err != nil {
			return err
		}
		return tx.NewRaw("SELECT "+consumerColumns+" FROM log_consumers WHERE name = ?", name).Scan(ctx, &r)
	})
	if err != nil {
		return logstore.ConsumerState{}, false, s.wrap("claim consumer", err)
	}
	return r.state(), r.Owner == owner, nil
}

// AdvanceConsumer implements logstore.Consumers.
func (s *Store) AdvanceConsumer(ctx context.Context, name, owner string, from, to logstore.Cursor, now time.Time, effects ...logstore.Effect) (bool, error) {
	if to.Less(from) {
		return false, fmt.Errorf("bunstore: advance consumer %s: the checkpoint may not go back: %w", name, logs.ErrInvalid)
	}
	var ok bool
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		set := "head_at = ?"
		args := []any{us(now)}
		if from != to {
			set = "epoch = ?, seq = ?, advanced_at = ?"
			args = []any{int64(to.Epoch), to.Seq, us(now)}
		}
		args = append(args, name, owner, us(now), int64(from.Epoch), from.Seq)
		res, err := tx.ExecContext(ctx, "UPDATE log_consumers SET "+set+
			" WHERE name = ? AND owner = ? AND lease_until >= ? AND epoch = ? AND seq = ?", args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err // not the owner, or the checkpoint moved: nothing applied
		}
		for _, e := range effects {
			if err := s.apply(ctx, tx, e); err != nil {
				return err
			}
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, s.wrap("advance consumer "+name, err)
	}
	return ok, nil
}

// apply runs one effect inside a consumer's transaction.
func (s *Store) apply(ctx context.Context, tx bun.Tx, e logstore.Effect) error {
	switch e := e.(type) {
	case logstore.RollupEffect:
		return s.applyRollup(ctx, tx, e)
	case logstore.LogStreamDelivered:
		return s.applyDelivered(ctx, tx, e)
	case logstore.TreeEffect:
		return s.applyTree(ctx, tx, e)
	case logstore.CheckpointEffect:
		return s.applyCheckpoint(ctx, tx, e)
	}
	return fmt.Errorf("bunstore: effect %T: %w", e, logs.ErrInternal)
}

// applyRollup adds the deltas to the hourly and the daily counts, in key
// order (so that two transactions never wait for each other in a cycle).
func (s *Store) applyRollup(ctx context.Context, tx bun.Tx, e logstore.RollupEffect) error {
	type key struct {
		tenant        string
		bucket        int64
		level, source string
	}
	for _, table := range []struct {
		name  string
		trunc func(time.Time) time.Time
	}{
		{"log_counts_hour", func(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }},
		{"log_counts_day", func(t time.Time) time.Time { return startOfDay(t) }},
	} {
		sum := map[key]int64{}
		for _, d := range e.Deltas {
			sum[key{d.Tenant, table.trunc(d.Hour).UnixMicro(), string(d.Level), d.Source}] += d.N
		}
		keys := make([]key, 0, len(sum))
		for k := range sum {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			a, b := keys[i], keys[j]
			if a.tenant != b.tenant {
				return a.tenant < b.tenant
			}
			if a.bucket != b.bucket {
				return a.bucket < b.bucket
			}
			if a.level != b.level {
				return a.level < b.level
			}
			return a.source < b.source
		})
		for len(keys) > 0 {
			chunk := keys[:min(len(keys), 500)]
			keys = keys[len(chunk):]
			var q strings.Builder
			args := make([]any, 0, 5*len(chunk))
			// Counts of what the retention purge removed are not kept: a
			// batch read before a purge may commit after it.
			q.WriteString("INSERT INTO " + table.name + " (tenant_id, bucket, level, source, n) SELECT * FROM (VALUES ")
			for i, k := range chunk {
				if i > 0 {
					q.WriteString(", ")
				}
				if s.pg {
					q.WriteString("(?::text, ?::bigint, ?::text, ?::text, ?::bigint)")
				} else {
					q.WriteString("(?, ?, ?, ?, ?)")
				}
				args = append(args, k.tenant, k.bucket, k.level, k.source, sum[k])
			}
			tenantCol, bucketCol := "v.tenant_id", "v.bucket"
			if s.pg {
				q.WriteString(") AS v (tenant_id, bucket, level, source, n)")
			} else {
				q.WriteString(") AS v") // SQLite names the columns column1, column2, ...
				tenantCol, bucketCol = "v.column1", "v.column2"
			}
			q.WriteString(" WHERE " + bucketCol + " >= coalesce((SELECT max(before) FROM log_purges p WHERE p.tenant_id IN ('', " +
				tenantCol + ")), -9223372036854775807)")
			q.WriteString(" ON CONFLICT (tenant_id, bucket, level, source) DO UPDATE SET n = " + table.name + ".n + excluded.n")
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
	}
	return nil
}

func startOfDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// ReleaseConsumer implements logstore.Consumers.
func (s *Store) ReleaseConsumer(ctx context.Context, name, owner string) error {
	_, err := s.db.ExecContext(ctx, "UPDATE log_consumers SET owner = '', lease_until = 0 WHERE name = ? AND owner = ?", name, owner)
	return s.wrap("release consumer", err)
}

// ConsumerStates implements logstore.Consumers.
func (s *Store) ConsumerStates(ctx context.Context) ([]logstore.ConsumerState, error) {
	var rows []consumerRow
	err := s.db.NewRaw("SELECT "+consumerColumns+" FROM log_consumers ORDER BY name").Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, s.wrap("consumers", err)
	}
	out := make([]logstore.ConsumerState, len(rows))
	for i := range rows {
		out[i] = rows[i].state()
	}
	return out, nil
}

// DeleteConsumer implements logstore.Consumers.
func (s *Store) DeleteConsumer(ctx context.Context, name string) error {
	_, err := s.db.ExecContext(ctx, "DELETE FROM log_consumers WHERE name = ?", name)
	return s.wrap("delete consumer", err)
}

// CountAfter implements logstore.Consumers.
func (s *Store) CountAfter(ctx context.Context, tenant string, c logstore.Cursor, max int64) (int64, error) {
	cond, args := s.afterCond(c)
	q := "SELECT count(*) FROM (SELECT 1 FROM log_entries WHERE " + cond
	if tenant != "" {
		key, ok, err := s.tenantKey(ctx, s.db, tenant)
		if err != nil || !ok {
			return 0, err
		}
		q += " AND tenant = ?"
		args = append(args, key)
	}
	q += " LIMIT ?) AS lag"
	args = append(args, max)
	var n int64
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, s.wrap("count after", err)
}

// afterCond is the condition "the entry's cursor is beyond c".
func (s *Store) afterCond(c logstore.Cursor) (string, []any) {
	if s.pg {
		return "(xid, seq) > (CAST(? AS xid8), ?)", []any{fmt.Sprint(c.Epoch), c.Seq}
	}
	return "seq > ?", []any{c.Seq}
}
