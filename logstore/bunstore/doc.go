// Package bunstore implements logstore.Store on PostgreSQL (through pgx under
// bun) and on SQLite (bun's sqliteshim), in one code path with dialect
// switches where the databases differ.
//
// Open takes a URL: postgres://... or postgresql://... for PostgreSQL,
// sqlite:///abs/path.db or sqlite://rel/path.db for SQLite (the file and its
// folder are created). Open runs the migrations; they are idempotent and
// safe to run from several processes at once.
//
// # Schema
//
// One table, log_entries. On PostgreSQL it is partitioned by month of
// created_at (partitions are created on demand, retention drops whole
// partitions); every key starts with tenant_id. Indexes serve "tenant +
// optional level or source + time range, newest first"; a trigram GIN index
// that leads with the tenant (extensions pg_trgm and btree_gin) serves
// search when the role may create those extensions. Each row records the
// writing transaction's id (xid8) and a sequence value: together they are the
// stream cursor, handed out only below the oldest transaction that may still
// write to the database (pg_snapshot_xmin, less the transactions of other
// databases) so that no entry can commit behind a cursor already handed out. Appends NOTIFY the channel
// log_entries so that other processes' tailers wake up.
//
// On SQLite (WAL mode, one writer at a time) the cursor is the AUTOINCREMENT
// row id, which is commit order.
//
// Triggers refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) on the table;
// the retention purge drops partitions (PostgreSQL) or lifts the trigger
// inside its own transaction (SQLite).
//
// Search compares a case-folded copy of the message (message_fold, made with
// logquery.Fold when the entry is written) with the folded terms: LIKE with
// escaped wildcards on PostgreSQL, instr() on SQLite, so that %, _ and \ are
// literal and the semantics equal logquery.Filter.Match.
//
// # Errors
//
// Errors wrap logs.ErrInvalid (malformed cursor or snapshot, bad entries),
// logs.ErrUnavailable (the store is closed, the database is unreachable) or
// logs.ErrInternal, together with the driver's error.
//
// # Concurrency
//
// A Store is safe for concurrent use. Close waits for the LISTEN goroutine.
package bunstore
