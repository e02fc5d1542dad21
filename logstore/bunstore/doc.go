// Package bunstore implements logstore.Store, and the persistence the other
// packages of the service need (logstore.ExportJobs, TicketLedger,
// Consumers, Settings, LogStreams), on PostgreSQL (through pgx under bun)
// and on SQLite (bun's sqliteshim), in one code path with dialect switches
// where the databases differ. It is the only package of the service with SQL.
//
// Open takes a URL: postgres://... or postgresql://... for PostgreSQL,
// sqlite:///abs/path.db or sqlite://rel/path.db for SQLite (the file and its
// folder are created). Open runs the migrations (one list, bun/migrate;
// idempotent and safe to run from several processes at once), through
// Options.AdminURL when the store serves as a role that may not change the
// schema; then it grants that role what it needs and nothing more.
//
// # Schema
//
// The log table, log_entries, keeps a tenant as a key of log_tenants. On
// PostgreSQL it is partitioned by month of created_at (partitions are made on
// demand through a function of the owner; retention drops whole
// partitions); every index but the process-wide cursor's leads with the
// tenant. Each row records the writing transaction's id (xid8) and a
// sequence value: together they are the stream cursor, handed out only
// below a visibility watermark (docs/store.md). Rollups (log_counts_hour,
// log_counts_day), kept by the rollup consumer, make totals and stats
// cheap and exact. Appends are group-committed, large groups written with
// COPY; NOTIFY log_entries wakes other processes.
//
// On SQLite (WAL mode, one writer at a time) the cursor is the AUTOINCREMENT
// row id, which is commit order.
//
// Triggers refuse UPDATE, DELETE, TRUNCATE (and on SQLite REPLACE) on the
// log table; the serving role may only insert and read it. The retention
// purge, as the owner, drops partitions or deletes through the trigger.
//
// Search compares coalesce(message_fold, the ASCII lower case of the
// message) with the terms folded by logquery.Fold, message_fold being kept
// only where the two differ: the semantics of logquery.Filter.Match, with
// %, _ and \ literal.
//
// docs/store.md records the decisions and their measurements.
//
// # Errors
//
// One translator (errors.go) gives every database error its code:
// logs.ErrInvalid (malformed cursor or snapshot, bad entries, values out of
// range), logs.ErrConflict (an id sent again with other content, a unique
// key taken), logs.ErrUnavailable (the store is closed, the database is
// unreachable, a serialization failure), logs.ErrInternal otherwise,
// together with the driver's error.
//
// # Concurrency
//
// A Store is safe for concurrent use. Close stops the committer, the
// notifier and the LISTEN goroutine and waits for them; appends still
// waiting get logs.ErrUnavailable.
package bunstore
