// Package logstore defines [Store], the portable API over the database that
// keeps log entries, and the helpers every implementation shares.
//
// Implementations live in subpackages: logstore/bunstore keeps entries in
// PostgreSQL (through pgx) or SQLite with one code path. Every
// implementation passes the conformance suite in logstore/storetest.
//
// # Order and cursors
//
// Lists and scans are newest first: createdAt descending, ties broken by id
// descending, so that consecutive pages never repeat or skip an entry.
//
// Independently of createdAt, every stored entry has a [Cursor]: its place in
// the order entries became visible to readers. [Store.After] hands out
// entries by cursor, only below a visibility watermark, so an entry can
// never become visible behind a cursor already handed out. That is what the
// live stream resumes from.
//
// A [Snapshot] names the set of entries visible at one moment; a scan or
// count under a snapshot ignores everything appended later (export).
//
// # Errors
//
// Errors wrap a sentinel of package logs: logs.ErrInvalid (with a
// *logs.Error naming the field, such as "logs[3].level") for bad input
// or a malformed cursor or snapshot, logs.ErrUnavailable when the database
// cannot be reached or the store is closed, logs.ErrInternal otherwise.
//
// # Concurrency
//
// A Store is safe for concurrent use by many goroutines, and several
// processes may share one database.
package logstore
