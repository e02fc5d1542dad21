package bunstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

// PostgreSQL keeps log_entries in monthly partitions, named
// log_entries_pYYYYMM and made on demand by Append through the function
// log_entries_create_partition, which runs as the owner: the serving role
// may insert into partitions but not create, alter or drop them.

func partitionName(t time.Time) string {
	return fmt.Sprintf("log_entries_p%04d%02d", t.Year(), int(t.Month()))
}

// ensurePartitions makes sure the monthly partitions the batch needs exist.
func (s *Store) ensurePartitions(ctx context.Context, es []logs.Entry) error {
	for _, e := range es {
		name := partitionName(e.CreatedAt)
		if _, ok := s.parts.Load(name); ok {
			continue
		}
		if _, err := s.db.ExecContext(ctx, "SELECT log_entries_create_partition(?)", e.CreatedAt.UTC()); err != nil {
			return s.wrap("create partition "+name, err)
		}
		s.parts.Store(name, true)
	}
	return nil
}

// Purge implements logstore.Store, through the admin connection. It
// removes whole months on PostgreSQL (the monthly partitions that end at
// or before t: entries of a partly expired month stay until all of it
// has expired) and whole days on SQLite (the rows, lifting the
// immutability trigger inside the same transaction, so that no other
// connection sees the table unguarded). In the same transaction it
// removes the rollups of what it removed and records how far it went
// (log_purges), so that the rollup consumer keeps no counts of it.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	if !s.pg {
		var n int64
		boundary := startOfDay(before)
		err := s.admin.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "DROP TRIGGER IF EXISTS log_entries_no_delete"); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, "DELETE FROM log_entries WHERE created_at < ?", boundary.UnixMicro())
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			if _, err = tx.ExecContext(ctx, sqliteNoDelete); err != nil {
				return err
			}
			return s.purgeRollups(ctx, tx, "", boundary)
		})
		return n, s.wrap("purge", err)
	}
	rows, err := s.admin.QueryContext(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
		WHERE p.oid = to_regclass('log_entries') ORDER BY c.relname`)
	if err != nil {
		return 0, s.wrap("purge", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return 0, s.wrap("purge", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.wrap("purge", err)
	}
	var total int64
	for _, name := range names {
		var y, m int
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, "log_entries_p"), "%4d%2d", &y, &m); err != nil {
			continue
		}
		end := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
		if end.After(before) {
			continue
		}
		var n int64
		err := s.admin.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+quoteIdent(name)).Scan(&n); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "ALTER TABLE log_entries DETACH PARTITION "+quoteIdent(name)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "DROP TABLE "+quoteIdent(name)); err != nil {
				return err
			}
			return s.purgeRollups(ctx, tx, "", end)
		})
		if err != nil {
			return total, s.wrap("purge "+name, err)
		}
		s.parts.Delete(name)
		total += n
	}
	return total, nil
}

// purgeRollups records that every entry of tenant ("" for every tenant)
// before boundary is gone and removes their rollups, inside the purge's
// transaction. The rollup consumer's row is locked first: a batch the
// consumer read before the purge commits after it, and then sees the
// boundary (applyRollup).
func (s *Store) purgeRollups(ctx context.Context, tx bun.Tx, tenant string, boundary time.Time) error {
	b := boundary.UnixMicro()
	lock := "SELECT 1 FROM log_consumers WHERE name = ?"
	if s.pg {
		lock += " FOR UPDATE"
	}
	if _, err := tx.ExecContext(ctx, lock, logstore.RollupConsumer); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO log_purges (tenant_id, before) VALUES (?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET before = CASE WHEN excluded.before > log_purges.before THEN excluded.before ELSE log_purges.before END`,
		tenant, b); err != nil {
		return err
	}
	for _, table := range []string{"log_counts_hour", "log_counts_day"} {
		q, args := "DELETE FROM "+table+" WHERE bucket < ?", []any{b}
		if tenant != "" {
			q, args = q+" AND tenant_id = ?", append(args, tenant)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}
