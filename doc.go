// Package logs holds the vocabulary shared by every part of the logs service:
// the log [Entry] with exactly the fields and JSON names of the Logs API, the
// severity [Level], and the closed set of error codes returned by [Code].
//
// The service itself is split into packages that import downward only:
//
//	logs          Entry, Level, errors (this package; no heavy imports)
//	logquery      Filter: parsing, validation, in-memory Match
//	logstore      Store interface; bunstore (PostgreSQL, SQLite); storetest
//	logstream     live tail: Broadcaster and the SSE writer
//	logexport     asynchronous export jobs into gocloud.dev/blob buckets
//	loghttp       the HTTP API on gorilla/mux; loghttp/jwtauth verifies tokens
//	logclient     the Go client of the HTTP API; logclient/sse reads SSE
//	logslog       a log/slog Handler writing entries (store or client)
//	cmd/logsd     the daemon
//	cmd/logs      the command line
//
// # Errors
//
// Every package of the service wraps its errors so that [Code] maps them to
// one of the codes below, for example
//
//	fmt.Errorf("bunstore: query: %w: %w", logs.ErrInvalid, err)
//
// An error that carries no code is [CodeInternal]. The one error meant for
// the client is an [*Error]: a code (its Kind), a message the client may
// read, the input field at fault ([FieldOf] finds it in a chain) and a cause
// that is only logged. [Invalid] makes the common one, an [ErrInvalid] about
// a field; [NewError] any other.
//
// # Concurrency
//
// The types of this package are plain values; an Entry must not be mutated
// while another goroutine reads it.
package logs
