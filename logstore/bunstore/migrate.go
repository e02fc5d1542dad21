package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// The schema is one list of migrations (github.com/uptrace/bun/migrate),
// applied in name order, each once, recorded in logs_migrations. Each step
// is idempotent (IF NOT EXISTS, CREATE OR REPLACE), so that a database
// made before a step was recorded is adopted as it is: the first step
// takes over the databases of the earlier, hand-rolled migrations
// (log_schema_migrations) without touching an entry.
//
// A step is one function with a switch on the dialect where the databases
// differ. Add a step at the end; never change one that has shipped.
var migrations = migrate.NewMigrations()

// migrationTable and migrationLockTable are bun/migrate's bookkeeping.
const (
	migrationTable     = "logs_migrations"
	migrationLockTable = "logs_migration_locks"
)

func init() {
	step("20261201000001", "log_entries", migrateLogEntries)
	step("20261201000002", "service_tables", migrateServiceTables)
	step("20261202000001", "consumers_and_rollups", migrateConsumers)
	step("20261202000002", "tenant_settings", migrateTenantSettings)
	step("20261203000001", "compact_entries", migrateCompactEntries)
	step("20261204000001", "log_streams", migrateLogStreams)
	step("20261205000001", "verifiable_log", migrateTree)
}

// step registers a migration whose statements run in one transaction.
func step(name, comment string, sqls func(d dialectInfo) []string) {
	migrations.Add(migrate.Migration{
		Name: name, Comment: comment,
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			db := m.DB()
			d := dialectInfo{pg: isPG(db)}
			if d.pg {
				if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&d.schema); err != nil {
					return err
				}
			}
			return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				for _, q := range sqls(d) {
					if _, err := tx.ExecContext(ctx, q); err != nil {
						return fmt.Errorf("%w\n%s", err, q)
					}
				}
				return nil
			})
		},
	})
}

// dialectInfo is what a migration step may depend on.
type dialectInfo struct {
	pg     bool
	schema string // PostgreSQL: the schema the tables live in
}

func isPG(db *bun.DB) bool { return db.Dialect().Name().String() == "pg" }

// migrateLogEntries creates the log table: on PostgreSQL partitioned by
// month, with the stream cursor columns, the immutability triggers, the
// function that creates partitions for the serving role and the
// visibility watermark; on SQLite one table with the same triggers and one
// that refuses REPLACE.
func migrateLogEntries(d dialectInfo) []string {
	if !d.pg {
		return []string{
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
			// REPLACE (and INSERT OR REPLACE) deletes the row in the way
			// without firing delete triggers (recursive_triggers is off by
			// default, and per connection): refuse an insert whose key is
			// taken before the conflict resolution can run.
			`CREATE TRIGGER IF NOT EXISTS log_entries_no_replace BEFORE INSERT ON log_entries
				WHEN EXISTS (SELECT 1 FROM log_entries WHERE (tenant_id = NEW.tenant_id AND id = NEW.id) OR seq = NEW.seq)
				BEGIN SELECT RAISE(ABORT, 'log entries are immutable: REPLACE refused'); END`,
			`DROP TABLE IF EXISTS log_schema_migrations`, // the bookkeeping before bun/migrate
		}
	}
	return []string{
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
		// The serving role may insert but not create tables: it asks this
		// function, which runs as the owner, for the partition of a month.
		// It creates only monthly partitions of the range entries may have.
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION log_entries_create_partition(at timestamptz) RETURNS void
			LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
		DECLARE
			m timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
			part text := 'log_entries_p' || to_char(at AT TIME ZONE 'UTC', 'YYYYMM');
		BEGIN
			IF at IS NULL OR at < '1970-01-01T00:00:00Z' OR at > now() + interval '2 months' THEN
				RAISE EXCEPTION 'no partition for %%: outside the range of log entries', at USING ERRCODE = '22008';
			END IF;
			PERFORM pg_advisory_xact_lock(%d);
			IF to_regclass(format('%%I.%%I', %[2]s, part)) IS NOT NULL THEN
				RETURN;
			END IF;
			EXECUTE format('CREATE TABLE %%I.%%I PARTITION OF %%I.log_entries FOR VALUES FROM (%%L) TO (%%L)',
				%[2]s, part, %[2]s, m, m + interval '1 month');
			EXECUTE format('CREATE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON %%I.%%I
				FOR EACH STATEMENT EXECUTE FUNCTION %%I.log_entries_refuse_change()', %[2]s, part, %[2]s);
		END $$`, lockKey("partitions"), quoteLiteral(d.schema)),
		`REVOKE ALL ON FUNCTION log_entries_create_partition(timestamptz) FROM PUBLIC`,
		// The watermark of the stream cursors (see pgWatermark). It runs
		// as the owner, so that a serving role that may not see other
		// roles' sessions in pg_stat_activity still skips the transactions
		// of other databases when the owner may see them. STABLE: it reads
		// the calling statement's snapshot.
		`CREATE OR REPLACE FUNCTION log_entries_watermark() RETURNS xid8
			LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$` + pgWatermark + `$$`,
		`REVOKE ALL ON FUNCTION log_entries_watermark() FROM PUBLIC`,
		// The bookkeeping of the migrations before bun/migrate.
		`DROP TABLE IF EXISTS log_schema_migrations`,
	}
}

const (
	sqliteNoUpdate = `CREATE TRIGGER IF NOT EXISTS log_entries_no_update BEFORE UPDATE ON log_entries
		BEGIN SELECT RAISE(ABORT, 'log entries are immutable: UPDATE refused'); END`
	sqliteNoDelete = `CREATE TRIGGER IF NOT EXISTS log_entries_no_delete BEFORE DELETE ON log_entries
		BEGIN SELECT RAISE(ABORT, 'log entries are immutable: DELETE refused'); END`
)

// migrateServiceTables creates the tables of the packages beside the
// store: export jobs (logexport) and spent stream tickets (logstream).
// Times are microseconds (milliseconds for tickets) since the Unix epoch:
// one portable type on both databases.
func migrateServiceTables(dialectInfo) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS log_export_jobs (
			id                TEXT PRIMARY KEY,
			tenant_id         TEXT NOT NULL,
			format            TEXT NOT NULL,
			filter            TEXT NOT NULL,
			snapshot          TEXT NOT NULL,
			status            TEXT NOT NULL,
			estimated_records BIGINT NOT NULL DEFAULT 0,
			records           BIGINT NOT NULL DEFAULT 0,
			blob_key          TEXT NOT NULL,
			reason            TEXT NOT NULL DEFAULT '',
			attempts          INTEGER NOT NULL DEFAULT 0,
			lease_owner       TEXT NOT NULL DEFAULT '',
			lease_until       BIGINT NOT NULL DEFAULT 0,
			created_at        BIGINT NOT NULL,
			deadline_at       BIGINT NOT NULL,
			finished_at       BIGINT NOT NULL DEFAULT 0,
			file_expires_at   BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX IF NOT EXISTS log_export_jobs_status_idx ON log_export_jobs (status, created_at)`,
		`CREATE INDEX IF NOT EXISTS log_export_jobs_tenant_idx ON log_export_jobs (tenant_id, status)`,
		`CREATE TABLE IF NOT EXISTS logstream_tickets (id VARCHAR(32) PRIMARY KEY, expires_at BIGINT NOT NULL)`,
	}
}

// migrateConsumers creates the checkpoints and leases of the durable
// consumers (log_consumers) and the rollups the rollup consumer keeps:
// counts by tenant, level and source per hour and per day. Times are
// microseconds since the Unix epoch, buckets the start of their hour or
// day in UTC.
func migrateConsumers(dialectInfo) []string {
	counts := func(table string) string {
		return `CREATE TABLE IF NOT EXISTS ` + table + ` (
			tenant_id TEXT   NOT NULL,
			bucket    BIGINT NOT NULL,
			level     TEXT   NOT NULL,
			source    TEXT   NOT NULL,
			n         BIGINT NOT NULL,
			PRIMARY KEY (tenant_id, bucket, level, source)
		)`
	}
	return []string{
		`CREATE TABLE IF NOT EXISTS log_consumers (
			name        TEXT PRIMARY KEY,
			epoch       BIGINT NOT NULL DEFAULT 0,
			seq         BIGINT NOT NULL DEFAULT 0,
			owner       TEXT   NOT NULL DEFAULT '',
			lease_until BIGINT NOT NULL DEFAULT 0,
			advanced_at BIGINT NOT NULL DEFAULT 0,
			head_at     BIGINT NOT NULL DEFAULT 0
		)`,
		counts("log_counts_hour"),
		counts("log_counts_day"),
		// How far the retention purge removed entries (tenant "" for
		// every tenant): the rollups keep no counts before it.
		`CREATE TABLE IF NOT EXISTS log_purges (
			tenant_id TEXT   PRIMARY KEY,
			before    BIGINT NOT NULL
		)`,
	}
}

// migrateTenantSettings creates the tenants' own settings (their
// retention), and lets the owner's retention purge delete a tenant's
// expired entries on PostgreSQL: the immutability trigger lets a DELETE
// through when the transaction set logs.purge (the serving role has no
// DELETE privilege on the table, so it cannot).
func migrateTenantSettings(d dialectInfo) []string {
	out := []string{
		`CREATE TABLE IF NOT EXISTS log_tenant_settings (
			tenant_id      TEXT    PRIMARY KEY,
			retention_days INTEGER NOT NULL DEFAULT 0,
			updated_at     BIGINT  NOT NULL
		)`,
	}
	if d.pg {
		out = append(out, `CREATE OR REPLACE FUNCTION log_entries_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF TG_OP = 'DELETE' AND current_setting('logs.purge', true) = 'on' THEN
				RETURN OLD; -- the retention purge, as the owner
			END IF;
			RAISE EXCEPTION 'log entries are immutable: % refused', TG_OP USING ERRCODE = '42501';
		END $$`)
	}
	return out
}

// migrateCompactEntries rebuilds the log table smaller (measured: 1,356
// bytes per entry of an IAM-like 1M-entry tenant set became about 650,
// docs/store.md): the tenant as a key of log_tenants instead of its id in
// every row and index, the level as a small integer, message_fold only
// where the folded message is not its ASCII lower case, and fewer,
// narrower indexes. Every entry is copied with its cursor (xid, seq), so
// event ids, consumer checkpoints and export snapshots stay valid.
func migrateCompactEntries(d dialectInfo) []string {
	if !d.pg {
		return []string{
			`CREATE TABLE IF NOT EXISTS log_tenants (key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE)`,
			`INSERT INTO log_tenants (id) SELECT DISTINCT tenant_id FROM log_entries WHERE true ON CONFLICT (id) DO NOTHING`,
			`CREATE TABLE log_entries_new (
				seq          INTEGER PRIMARY KEY AUTOINCREMENT,
				tenant       INTEGER NOT NULL,
				created_at   INTEGER NOT NULL,
				id           TEXT    NOT NULL,
				level        INTEGER NOT NULL,
				source       TEXT    NOT NULL,
				message      TEXT    NOT NULL,
				message_fold TEXT,
				metadata     TEXT    NOT NULL,
				UNIQUE (tenant, id)
			)`,
			`INSERT INTO log_entries_new (seq, tenant, created_at, id, level, source, message, message_fold, metadata)
				SELECT o.seq, t.key, o.created_at, o.id, CASE o.level WHEN 'info' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END,
					o.source, o.message, CASE WHEN o.message_fold = lower(o.message) THEN NULL ELSE o.message_fold END, o.metadata
				FROM log_entries o JOIN log_tenants t ON t.id = o.tenant_id ORDER BY o.seq`,
			`DROP TABLE log_entries`,
			`ALTER TABLE log_entries_new RENAME TO log_entries`,
			`CREATE INDEX log_entries_by_time ON log_entries (tenant, created_at DESC)`,
			`CREATE INDEX log_entries_alerts ON log_entries (tenant, created_at DESC) WHERE level > 0`,
			`CREATE INDEX log_entries_by_source ON log_entries (tenant, source, created_at DESC)`,
			sqliteNoUpdate,
			sqliteNoDelete,
			`CREATE TRIGGER IF NOT EXISTS log_entries_no_replace BEFORE INSERT ON log_entries
				WHEN EXISTS (SELECT 1 FROM log_entries WHERE (tenant = NEW.tenant AND id = NEW.id) OR seq = NEW.seq)
				BEGIN SELECT RAISE(ABORT, 'log entries are immutable: REPLACE refused'); END`,
		}
	}
	return []string{
		`CREATE TABLE IF NOT EXISTS log_tenants (key integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, id text NOT NULL UNIQUE)`,
		`INSERT INTO log_tenants (id) SELECT DISTINCT tenant_id FROM log_entries ORDER BY 1 ON CONFLICT (id) DO NOTHING`,
		// The old table and its partitions make room for the new ones.
		`DO $$ DECLARE r record; BEGIN
			ALTER TABLE log_entries RENAME TO log_entries_old;
			FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
				WHERE i.inhparent = 'log_entries_old'::regclass LOOP
				EXECUTE format('ALTER TABLE %I RENAME TO %I', r.relname, replace(r.relname, 'log_entries_p', 'log_entries_old_p'));
			END LOOP;
		END $$`,
		`CREATE TABLE log_entries (
			tenant       integer     NOT NULL,
			created_at   timestamptz NOT NULL,
			id           uuid        NOT NULL,
			seq          bigint      NOT NULL DEFAULT nextval('log_entries_seq'),
			xid          xid8        NOT NULL DEFAULT pg_current_xact_id(),
			level        smallint    NOT NULL,
			id_at_time   boolean     NOT NULL,
			source       text        NOT NULL,
			message      text        NOT NULL,
			message_fold text,
			metadata     json        NOT NULL
		) PARTITION BY RANGE (created_at)`,
		// The list, newest first (ties sorted by id on the fly); the
		// levels above info, which people filter for; a source; the
		// cursor of all tenants and of one; the ids that their time does
		// not find (see idAtTime).
		`CREATE INDEX log_entries_by_time ON log_entries (tenant, created_at DESC)`,
		`CREATE INDEX log_entries_alerts ON log_entries (tenant, created_at DESC) WHERE level > 0`,
		`CREATE INDEX log_entries_by_source ON log_entries (tenant, source, created_at DESC)`,
		`CREATE INDEX log_entries_by_cursor ON log_entries (xid, seq)`,
		`CREATE INDEX log_entries_by_tenant_cursor ON log_entries (tenant, xid)`,
		`CREATE INDEX log_entries_ids ON log_entries (tenant, id) WHERE NOT id_at_time`,
		`CREATE OR REPLACE TRIGGER log_entries_immutable BEFORE UPDATE OR DELETE ON log_entries
			FOR EACH ROW EXECUTE FUNCTION log_entries_refuse_change()`,
		`CREATE OR REPLACE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON log_entries
			FOR EACH STATEMENT EXECUTE FUNCTION log_entries_refuse_change()`,
		`DO $$ DECLARE r record; BEGIN
			FOR r IN SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') AS m FROM log_entries_old LOOP
				PERFORM log_entries_create_partition(r.m AT TIME ZONE 'UTC');
			END LOOP;
		END $$`,
		`INSERT INTO log_entries (tenant, created_at, id, seq, xid, level, id_at_time, source, message, message_fold, metadata)
			SELECT t.key, o.created_at, o.id, o.seq, o.xid, CASE o.level WHEN 'info' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END,
				substr(o.id::text, 15, 1) = '7' AND ('x' || lpad(replace(left(o.id::text, 13), '-', ''), 16, '0'))::bit(64)::bigint
					= floor(extract(epoch FROM o.created_at) * 1000)::bigint,
				o.source, o.message, CASE WHEN o.message_fold = lower(o.message COLLATE "C") THEN NULL ELSE o.message_fold END, o.metadata
			FROM log_entries_old o JOIN log_tenants t ON t.id = o.tenant_id`,
		`DROP TABLE log_entries_old CASCADE`,
	}
}

// migrateLogStreams creates the tenants' log streams (package logsink):
// their destination and filter, the cursor their consumer starts after,
// their status and bookkeeping. Times are microseconds since the Unix
// epoch (0 for none). The key leads with the tenant.
func migrateLogStreams(dialectInfo) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS log_streams (
			tenant_id       TEXT    NOT NULL,
			id              TEXT    NOT NULL,
			type            TEXT    NOT NULL,
			url             TEXT    NOT NULL,
			filter          TEXT    NOT NULL,
			start_date      BIGINT  NOT NULL DEFAULT 0,
			start_epoch     BIGINT  NOT NULL DEFAULT 0,
			start_seq       BIGINT  NOT NULL DEFAULT 0,
			batch_size      INTEGER NOT NULL,
			format          TEXT    NOT NULL DEFAULT '',
			gzip            INTEGER NOT NULL DEFAULT 0,
			secret          TEXT    NOT NULL DEFAULT '',
			previous_secret TEXT    NOT NULL DEFAULT '',
			previous_until  BIGINT  NOT NULL DEFAULT 0,
			status          TEXT    NOT NULL,
			reason          TEXT    NOT NULL DEFAULT '',
			delivered       BIGINT  NOT NULL DEFAULT 0,
			last_error      TEXT    NOT NULL DEFAULT '',
			last_error_at   BIGINT  NOT NULL DEFAULT 0,
			last_success_at BIGINT  NOT NULL DEFAULT 0,
			failing_since   BIGINT  NOT NULL DEFAULT 0,
			created_at      BIGINT  NOT NULL,
			updated_at      BIGINT  NOT NULL,
			PRIMARY KEY (tenant_id, id)
		)`,
	}
}

// servingGrants are the privileges of a serving role that does not own the
// schema (PostgreSQL): insert and read entries, use the service's own
// tables, nothing that changes or removes an entry.
func servingGrants(role string) []string {
	r := quoteIdent(role)
	return []string{
		"GRANT SELECT, INSERT ON log_entries TO " + r,
		"GRANT SELECT, INSERT ON log_tenants TO " + r,
		"GRANT USAGE, SELECT ON SEQUENCE log_tenants_key_seq TO " + r,
		"GRANT USAGE, SELECT ON SEQUENCE log_entries_seq TO " + r,
		"GRANT EXECUTE ON FUNCTION log_entries_create_partition(timestamptz) TO " + r,
		"GRANT EXECUTE ON FUNCTION log_entries_watermark() TO " + r,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON log_export_jobs, logstream_tickets, log_consumers, log_streams TO " + r,
		"GRANT SELECT, INSERT, UPDATE ON log_counts_hour, log_counts_day TO " + r,
		"GRANT SELECT ON log_purges TO " + r,
		"GRANT SELECT, INSERT, UPDATE ON log_tenant_settings TO " + r,
		// The verifiable log's leaves and checkpoints are evidence: the
		// serving role adds to them and never changes them; the heads are
		// the consumer's bookkeeping, which verification does not trust.
		"GRANT SELECT, INSERT ON log_tree_leaves, log_tree_checkpoints TO " + r,
		"GRANT SELECT, INSERT, UPDATE ON log_tree_heads TO " + r,
		"GRANT SELECT ON " + migrationTable + " TO " + r,
	}
}

// searchIndex is the trigram index that serves search on PostgreSQL. It
// needs two extensions, which not every role may create: it is not a
// migration but tried at every Migrate, and its absence only makes search
// slower on large tenants.
var searchIndex = []string{
	`CREATE EXTENSION IF NOT EXISTS pg_trgm`,
	`CREATE EXTENSION IF NOT EXISTS btree_gin`,
	`CREATE INDEX IF NOT EXISTS log_entries_search ON log_entries USING gin (tenant, (coalesce(message_fold, lower(message COLLATE "C"))) gin_trgm_ops)`,
}

// Migrate brings the schema up to date through the admin connection
// (Options.AdminURL, else the store's own), and on PostgreSQL, when the
// store serves as another role than the admin one, grants that role what
// it needs to serve (servingGrants). It is idempotent, and on PostgreSQL
// serialised across processes by an advisory lock.
func (s *Store) Migrate(ctx context.Context) error {
	db := s.admin
	if s.pg {
		conn, err := db.Conn(ctx)
		if err != nil {
			return s.wrap("migrate", err)
		}
		defer conn.Close()
		key := lockKey("migrations")
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", key); err != nil {
			return s.wrap("migrate", err)
		}
		defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", key) }()
	}
	current, err := s.SchemaCurrent(ctx)
	if err != nil {
		return err
	}
	if !current {
		m := migrate.NewMigrator(db, migrations,
			migrate.WithTableName(migrationTable), migrate.WithLocksTableName(migrationLockTable),
			migrate.WithMarkAppliedOnSuccess(true), migrate.WithUpsert(true))
		if err := m.Init(ctx); err != nil {
			return s.migrateError(ctx, err)
		}
		if _, err := m.Migrate(ctx); err != nil {
			return s.migrateError(ctx, err)
		}
	}
	if s.pg && !s.opts.NoSearchIndex {
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, q := range searchIndex {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			s.log.Warn("bunstore: no search index; search works without it, slower on large tenants", "err", err)
		}
	}
	if s.pg && s.admin != s.db {
		return s.grantServing(ctx)
	}
	return nil
}

// migrateError explains a failed migration; the usual cause is a role that
// may not change the schema.
func (s *Store) migrateError(ctx context.Context, err error) error {
	if s.pg && isPrivilegeError(err) {
		var role string
		_ = s.admin.QueryRowContext(ctx, "SELECT current_user").Scan(&role)
		return fmt.Errorf("bunstore: migrate: %w: the schema is not current and the role %q may not change it; "+
			"migrate as the role that owns the schema (logsd migrate with LOGSD_ADMIN_DATABASE_URL): %w",
			errUnavailable, role, err)
	}
	return s.wrap("migrate", err)
}

// grantServing grants the serving role (the current user of the store's
// own connection) the privileges of servingGrants, through the admin
// connection.
func (s *Store) grantServing(ctx context.Context) error {
	var serving, admin string
	if err := s.db.QueryRowContext(ctx, "SELECT current_user").Scan(&serving); err != nil {
		return s.wrap("grant", err)
	}
	if err := s.admin.QueryRowContext(ctx, "SELECT current_user").Scan(&admin); err != nil {
		return s.wrap("grant", err)
	}
	if serving == admin {
		return nil
	}
	err := s.admin.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, q := range servingGrants(serving) {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap("grant to "+serving, err)
}

// SchemaCurrent reports whether every migration of this version is
// applied, as the store's own (serving) role sees it.
func (s *Store) SchemaCurrent(ctx context.Context) (bool, error) {
	var exists bool
	q := "SELECT to_regclass(?) IS NOT NULL"
	if !s.pg {
		q = "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?"
	}
	if err := s.db.QueryRowContext(ctx, q, migrationTable).Scan(&exists); err != nil {
		return false, s.wrap("schema", err)
	}
	if !exists {
		return false, nil
	}
	rows, err := s.db.QueryContext(ctx, "SELECT name FROM "+migrationTable)
	if err != nil {
		return false, s.wrap("schema", err)
	}
	defer rows.Close()
	applied := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return false, s.wrap("schema", err)
		}
		applied[name] = true
	}
	if err := rows.Err(); err != nil {
		return false, s.wrap("schema", err)
	}
	for _, m := range migrations.Sorted() {
		if !applied[m.Name] {
			return false, nil
		}
	}
	return true, nil
}

// Privilege says how the store's own role stands to the schema on
// PostgreSQL: "superuser", "owner" (it owns the log table, so it could
// switch the immutability off), or "" (a serving role, as it should be;
// and always on SQLite).
func (s *Store) Privilege(ctx context.Context) (string, error) {
	if !s.pg {
		return "", nil
	}
	var super, owner bool
	err := s.db.QueryRowContext(ctx, `SELECT r.rolsuper,
		coalesce(pg_has_role(current_user, c.relowner, 'USAGE'), false)
		FROM pg_roles r LEFT JOIN pg_class c ON c.oid = to_regclass('log_entries')
		WHERE r.rolname = current_user`).Scan(&super, &owner)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", s.wrap("privilege", err)
	}
	switch {
	case super:
		return "superuser", nil
	case owner:
		return "owner", nil
	}
	return "", nil
}

// pgWatermark is the visibility watermark of PostgreSQL cursors: the
// oldest transaction id that may still write to this database. Every
// transaction below it that wrote here has ended, so the rows below it are
// final, and any row that becomes visible later has a larger xid.
//
// It is pg_snapshot_xmin of the statement's snapshot, except that the
// in-progress transactions of other databases are skipped (they cannot
// write to our table; pg_current_snapshot() is cluster-wide, and another
// database's long transaction would otherwise hold every stream back). A
// transaction is skipped only when pg_stat_activity positively shows it in
// another database; one that ended between the snapshot and that look, or
// that we may not see, counts as ours, which only delays.
const pgWatermark = `SELECT coalesce(
	(SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
	 WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.backend_xid = x::xid
	   AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))),
	pg_snapshot_xmax(pg_current_snapshot()))`

func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("ithbat/logs:" + name))
	return int64(h.Sum64() >> 1)
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteLiteral quotes a PostgreSQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
