package bunstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ithbat/logs"
)

// migration is one schema step; the steps of a dialect run in order, each
// once, recorded in log_schema_migrations.
type migration struct {
	name string
	sql  []string
	// optional steps may fail (missing privileges); they are logged and
	// tried again on the next start.
	optional bool
}

var pgMigrations = []migration{
	{name: "0001_log_entries", sql: []string{
		`CREATE SEQUENCE IF NOT EXISTS log_entries_seq`,
		`CREATE TABLE IF NOT EXISTS log_entries (
			tenant_id    text        NOT NULL,
			id           uuid        NOT NULL,
			created_at   timestamptz NOT NULL,
			level        text        NOT NULL,
			source       text        NOT NULL,
			message      text        NOT NULL,
			message_fold text        NOT NULL,
			metadata     json        NOT NULL DEFAULT '{}',
			seq          bigint      NOT NULL DEFAULT nextval('log_entries_seq'),
			xid          xid8        NOT NULL DEFAULT pg_current_xact_id(),
			PRIMARY KEY (tenant_id, id, created_at)
		) PARTITION BY RANGE (created_at)`,
		`CREATE INDEX IF NOT EXISTS log_entries_tenant_time ON log_entries (tenant_id, created_at DESC, id DESC)`,
		`CREATE INDEX IF NOT EXISTS log_entries_tenant_level_time ON log_entries (tenant_id, level, created_at DESC, id DESC)`,
		`CREATE INDEX IF NOT EXISTS log_entries_tenant_source_time ON log_entries (tenant_id, source, created_at DESC, id DESC)`,
		`CREATE INDEX IF NOT EXISTS log_entries_cursor ON log_entries (xid, seq)`,
		`CREATE INDEX IF NOT EXISTS log_entries_tenant_cursor ON log_entries (tenant_id, xid, seq)`,
		`CREATE OR REPLACE FUNCTION log_entries_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			RAISE EXCEPTION 'log entries are immutable: % refused', TG_OP USING ERRCODE = '42501';
		END $$`,
		`CREATE OR REPLACE TRIGGER log_entries_immutable BEFORE UPDATE OR DELETE ON log_entries
			FOR EACH ROW EXECUTE FUNCTION log_entries_refuse_change()`,
		`CREATE OR REPLACE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON log_entries
			FOR EACH STATEMENT EXECUTE FUNCTION log_entries_refuse_change()`,
	}},
	{name: "0002_search_index", optional: true, sql: []string{
		`CREATE EXTENSION IF NOT EXISTS pg_trgm`,
		`CREATE EXTENSION IF NOT EXISTS btree_gin`,
		`CREATE INDEX IF NOT EXISTS log_entries_tenant_search ON log_entries USING gin (tenant_id, message_fold gin_trgm_ops)`,
	}},
}

var sqliteMigrations = []migration{
	{name: "0001_log_entries", sql: []string{
		`CREATE TABLE IF NOT EXISTS log_entries (
			seq          INTEGER PRIMARY KEY AUTOINCREMENT,
			tenant_id    TEXT    NOT NULL,
			id           TEXT    NOT NULL,
			created_at   INTEGER NOT NULL,
			level        TEXT    NOT NULL,
			source       TEXT    NOT NULL,
			message      TEXT    NOT NULL,
			message_fold TEXT    NOT NULL,
			metadata     TEXT    NOT NULL DEFAULT '{}',
			UNIQUE (tenant_id, id)
		)`,
		`CREATE INDEX IF NOT EXISTS log_entries_tenant_time ON log_entries (tenant_id, created_at DESC, id DESC)`,
		`CREATE INDEX IF NOT EXISTS log_entries_tenant_level_time ON log_entries (tenant_id, level, created_at DESC, id DESC)`,
		`CREATE INDEX IF NOT EXISTS log_entries_tenant_source_time ON log_entries (tenant_id, source, created_at DESC, id DESC)`,
		sqliteNoUpdate,
		sqliteNoDelete,
	}},
}

const (
	sqliteNoUpdate = `CREATE TRIGGER IF NOT EXISTS log_entries_no_update BEFORE UPDATE ON log_entries
		BEGIN SELECT RAISE(ABORT, 'log entries are immutable: UPDATE refused'); END`
	sqliteNoDelete = `CREATE TRIGGER IF NOT EXISTS log_entries_no_delete BEFORE DELETE ON log_entries
		BEGIN SELECT RAISE(ABORT, 'log entries are immutable: DELETE refused'); END`
)

// Migrate brings the schema up to date. It is idempotent, and on
// PostgreSQL serialised across processes by an advisory lock.
func (s *Store) Migrate(ctx context.Context) error {
	steps := sqliteMigrations
	if s.pg {
		steps = pgMigrations
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS log_schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return s.wrap("migrate", err)
	}
	for _, m := range steps {
		if m.name == "0002_search_index" && s.opts.NoSearchIndex {
			continue
		}
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if s.pg {
				if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", lockKey("log_schema_migrations")); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM log_schema_migrations WHERE name = ?", m.name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, q := range m.sql {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("%s: %w", m.name, err)
				}
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO log_schema_migrations (name, applied_at) VALUES (?, ?)", m.name, time.Now().UTC().Format(time.RFC3339))
			return err
		})
		if err != nil {
			if m.optional {
				s.log.Warn("bunstore: optional migration skipped; search works without its index, slower on large tenants", "step", m.name, "err", err)
				continue
			}
			return s.wrap("migrate", err)
		}
	}
	return nil
}

func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("ithbat/logs:" + name))
	return int64(h.Sum64() >> 1)
}

// --- PostgreSQL partitions ----------------------------------------------

func partitionName(t time.Time) string {
	return fmt.Sprintf("log_entries_p%04d%02d", t.Year(), int(t.Month()))
}

// ensurePartitions creates the monthly partitions the batch needs.
func (s *Store) ensurePartitions(ctx context.Context, es []logs.Entry) error {
	for _, e := range es {
		name := partitionName(e.CreatedAt)
		if _, ok := s.parts.Load(name); ok {
			continue
		}
		from := time.Date(e.CreatedAt.Year(), e.CreatedAt.Month(), 1, 0, 0, 0, 0, time.UTC)
		to := from.AddDate(0, 1, 0)
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", lockKey("partitions")); err != nil {
				return err
			}
			var exists bool
			if err := tx.QueryRowContext(ctx, "SELECT to_regclass(?) IS NOT NULL", name).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return nil
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(
				"CREATE TABLE %s PARTITION OF log_entries FOR VALUES FROM ('%s') TO ('%s')",
				name, from.Format(time.RFC3339), to.Format(time.RFC3339))); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf(
				"CREATE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION log_entries_refuse_change()", name))
			return err
		})
		if err != nil {
			return s.wrap("create partition "+name, err)
		}
		s.parts.Store(name, true)
	}
	return nil
}

// Purge implements logstore.Store. PostgreSQL drops the monthly partitions
// that end at or before t (entries of a partly expired month stay until
// the whole month has expired). SQLite deletes the rows, lifting the
// immutability trigger inside the same transaction.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	if !s.pg {
		var n int64
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
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
	rows, err := s.db.QueryContext(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
		WHERE p.relname = 'log_entries' ORDER BY c.relname`)
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
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+name).Scan(&n); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "ALTER TABLE log_entries DETACH PARTITION "+name); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "DROP TABLE "+name)
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
