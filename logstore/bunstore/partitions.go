package bunstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ithbat/logs"
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

// Purge implements logstore.Store, through the admin connection.
// PostgreSQL drops the monthly partitions that end at or before t (entries
// of a partly expired month stay until the whole month has expired).
// SQLite deletes the rows, lifting the immutability trigger inside the
// same transaction, so no other connection sees the table unguarded.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	if !s.pg {
		var n int64
		err := s.admin.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "DROP TRIGGER IF EXISTS log_entries_no_delete"); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, "DELETE FROM log_entries WHERE created_at < ?", before.UnixMicro())
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			_, err = tx.ExecContext(ctx, sqliteNoDelete)
			return err
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
			_, err := tx.ExecContext(ctx, "DROP TABLE "+quoteIdent(name))
			return err
		})
		if err != nil {
			return total, s.wrap("purge "+name, err)
		}
		s.parts.Delete(name)
		total += n
	}
	return total, nil
}
