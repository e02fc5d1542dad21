-- The schema as logsd made it before bun/migrate (commit 3f7d045):
-- bunstore's migrations 0001 and 0002, logexport's job table and
-- logstream's ticket table, with a partition made by Append.
CREATE TABLE IF NOT EXISTS log_schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL);
CREATE SEQUENCE IF NOT EXISTS log_entries_seq;
CREATE TABLE IF NOT EXISTS log_entries (
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
) PARTITION BY RANGE (created_at);
CREATE INDEX IF NOT EXISTS log_entries_tenant_time ON log_entries (tenant_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS log_entries_tenant_level_time ON log_entries (tenant_id, level, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS log_entries_tenant_source_time ON log_entries (tenant_id, source, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS log_entries_cursor ON log_entries (xid, seq);
CREATE INDEX IF NOT EXISTS log_entries_tenant_cursor ON log_entries (tenant_id, xid, seq);
CREATE OR REPLACE FUNCTION log_entries_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'log entries are immutable: % refused', TG_OP USING ERRCODE = '42501';
END $$;
CREATE OR REPLACE TRIGGER log_entries_immutable BEFORE UPDATE OR DELETE ON log_entries
	FOR EACH ROW EXECUTE FUNCTION log_entries_refuse_change();
CREATE OR REPLACE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON log_entries
	FOR EACH STATEMENT EXECUTE FUNCTION log_entries_refuse_change();
INSERT INTO log_schema_migrations VALUES ('0001_log_entries', '2026-11-01T00:00:00Z');
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX IF NOT EXISTS log_entries_tenant_search ON log_entries USING gin (tenant_id, message_fold gin_trgm_ops);
INSERT INTO log_schema_migrations VALUES ('0002_search_index', '2026-11-01T00:00:00Z');
CREATE TABLE log_entries_p202611 PARTITION OF log_entries FOR VALUES FROM ('2026-11-01T00:00:00Z') TO ('2026-12-01T00:00:00Z');
CREATE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON log_entries_p202611 FOR EACH STATEMENT EXECUTE FUNCTION log_entries_refuse_change();
CREATE TABLE IF NOT EXISTS log_export_jobs (
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
);
CREATE INDEX IF NOT EXISTS log_export_jobs_status_idx ON log_export_jobs (status, created_at);
CREATE INDEX IF NOT EXISTS log_export_jobs_tenant_idx ON log_export_jobs (tenant_id, status);
CREATE TABLE IF NOT EXISTS logstream_tickets (id VARCHAR(32) PRIMARY KEY, expires_at BIGINT NOT NULL);
