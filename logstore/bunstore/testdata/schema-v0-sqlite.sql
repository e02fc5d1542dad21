-- The schema as logsd made it before bun/migrate (commit 3f7d045).
CREATE TABLE IF NOT EXISTS log_schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_entries (
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
);
CREATE INDEX IF NOT EXISTS log_entries_tenant_time ON log_entries (tenant_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS log_entries_tenant_level_time ON log_entries (tenant_id, level, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS log_entries_tenant_source_time ON log_entries (tenant_id, source, created_at DESC, id DESC);
CREATE TRIGGER IF NOT EXISTS log_entries_no_update BEFORE UPDATE ON log_entries
	BEGIN SELECT RAISE(ABORT, 'log entries are immutable: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS log_entries_no_delete BEFORE DELETE ON log_entries
	BEGIN SELECT RAISE(ABORT, 'log entries are immutable: DELETE refused'); END;
INSERT INTO log_schema_migrations VALUES ('0001_log_entries', '2026-11-01T00:00:00Z');
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
