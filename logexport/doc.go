// Package logexport runs asynchronous exports of a tenant's log entries into
// a gocloud.dev/blob bucket: the POST /api/v1/logs/export and
// GET /api/v1/logs/export/{exportId} endpoints of the Logs API.
//
// An [Exporter] keeps its jobs in the store's own database, behind
// [logstore.ExportJobs] (bunstore's table log_export_jobs), so that any
// process sharing the database may run a job and any may answer a poll.
// [Exporter.Submit] takes a snapshot of the store, counts the matching
// entries under it (estimatedRecords) and inserts a job in status
// "processing". Workers ([Exporter.Start]) claim jobs, stream the store's
// scan (logstore.RawScanner where the store has it, else Store.Scan) under
// the job's snapshot into a blob writer, and mark
// the job "ready". The file therefore holds exactly the entries that matched
// and were visible at submission, newest first; entries appended later are
// not in it. Memory does not grow with the size of an export.
//
// # Jobs, leases and failure
//
// A worker claims a job with a lease (Options.Lease) that it renews while it
// works; of concurrent claims each job goes to one worker (bunstore: SELECT
// ... FOR UPDATE SKIP LOCKED on PostgreSQL, one conditional UPDATE on
// SQLite, which has one writer at a time). A job whose worker died keeps
// its lease until it expires; then any worker takes it up again. A job is tried at most Options.MaxAttempts times and never runs
// past Options.Deadline after submission: then it becomes "failed" with a
// reason. So no job stays "processing" forever, as long as some process runs
// workers. Workers wake at once on a submission in the same process and poll
// the jobs (Options.Poll) for submissions of other processes.
//
// # Files and download URLs
//
// The file of job exp-<uuid> of tenant T is stored under the key
// "tenants/T/logs/exp-<uuid>.<format>". [Exporter.Get] signs a download URL
// for a ready job on every call, valid Options.URLExpiry (one hour) but never
// past the file's own expiry, with [blob.Bucket.SignedURL]: S3, GCS and Azure
// sign with their own credentials. A file:// bucket has no signer of its own;
// [OpenBucket] gives it an HMAC signer ([NewFileSigner]) whose URLs point at
// the daemon itself (DownloadPath), and [Exporter.Download] verifies them.
// Every process that signs or verifies must use the same secret.
//
// Files are deleted Options.Retention after the job finished (a janitor in
// the worker loop); the job then reports "expired". Job rows are deleted
// Options.JobRetention after that.
//
// # Formats
//
//   - csv: RFC 4180, CRLF after each record, a header row
//     id,tenantId,level,source,message,metadata,createdAt, metadata as a JSON
//     object, createdAt as the API writes times. A cell that a spreadsheet
//     would run as a formula (it begins with = + - @, a tab or a carriage
//     return) is prefixed with a single quote. Fields are quoted exactly as
//     encoding/csv decides, but written by the package: encoding/csv with
//     CRLF record ends rewrites a line feed inside a field as CRLF and drops
//     a carriage return that no line feed follows; this encoder keeps every
//     byte of the entry.
//   - json: one JSON array of entries, each exactly as the API writes an
//     entry, one per line.
//   - ndjson: one entry per line (an extension).
//
// # Errors
//
// Errors wrap a sentinel of package logs: logs.ErrInvalid with a
// *logs.Error ("format", "level", ...) for a bad request,
// logs.ErrNotFound for an unknown export id or one of another tenant (the
// two are not told apart), logs.ErrRateLimited when a tenant has too many
// exports in progress, logs.ErrPermissionDenied for a download URL that is
// tampered with or expired, logs.ErrUnavailable when the database or bucket
// cannot be reached, logs.ErrInternal otherwise. A failed job's reason is
// meant for the client and never holds internal error text.
//
// # Concurrency
//
// An Exporter is safe for concurrent use. Start launches the worker
// goroutines; Close stops them and waits for them. Many processes may run
// Exporters over one database and one bucket.
package logexport
