// Package logclient is the Go client of the Logs API served by logsd, for
// services and tools that do not embed the store: the logs command line
// (cmd/logs) and the remote sink of logslog are built on it.
//
//	c, err := logclient.New("http://127.0.0.1:8080", token, "acme", nil)
//	page, err := c.Query(ctx, logquery.Filter{Level: logs.LevelError, Limit: 50})
//	for e, err := range c.All(ctx, f) { ... }           // every match, by cursor
//	s := c.Stream(f, nil)                                // live, resumes by itself
//	for e, err := range s.Entries(ctx) { ... }; s.LastEventID()
//	job, err := c.Export(ctx, logclient.CSV, f, file, nil) // submit, wait, download, check
//	ids, err := c.Ingest(ctx, entries, nil)               // batches, safe retries
//
// Filters are [logquery.Filter] values: the client sends their conditions
// as the list's parameters (the server validates them and names the field
// at fault).
//
// # Errors
//
// An answer of the server that is not a success is an [*Error] with the
// envelope's code, message and field, the HTTP status and the request id
// (X-Request-ID) the server logged it under. It unwraps to the sentinel of
// package logs for its code, so logs.Code(err) and errors.Is(err,
// logs.ErrInvalid) work; an answer without an envelope (a proxy's 502) is an
// *Error whose code follows from the status. A request that never got an
// answer (connection refused or cut) wraps [logs.ErrUnavailable] and the
// cause; the caller's context ending returns its error.
//
// Stream never gives up on errors that a retry may cure (a cut connection,
// a restart, 429, 5xx, an end event); it stops on 400, 401, 403 and 404, on
// an answer that is not an event stream or an event that is not an entry,
// and when the context ends, each reported once through the iterator.
//
// # Concurrency
//
// A Client is safe for concurrent use. A [Stream] is read by one goroutine
// at a time; LastEventID may be called from any.
package logclient
