// Package logslog is a log/slog Handler that writes a service's records as
// log entries: into a [logstore.Store] the service embeds ([StoreSink]),
// or to a logsd through [logclient] ([ClientSink]).
//
//	h, err := logslog.New(logslog.ClientSink(client, nil), &logslog.Options{Source: "billing"})
//	defer h.Close()
//	logger := slog.New(h)
//	logger.Error("charge failed", "invoice", id, slog.Group("card", "brand", "visa"))
//
// A record becomes an entry: Debug and Info are level info, Warn warn,
// Error and above error; the source is the one given to New; the message
// is the record's; attributes and groups (nested objects) are the
// metadata; the record's time is createdAt (now when it has none). Values
// are what encoding/json makes of them; an error is its text, a
// time.Duration its String, a float that JSON cannot hold its text. A
// message or metadata larger than an entry may hold is clipped, text that
// is not UTF-8 is repaired, so that the store never refuses a record.
//
// # Buffering
//
// Handle puts the entry in a bounded buffer and returns; a goroutine
// writes batches in the background (at once when a batch is full, else
// every FlushInterval). When the buffer is full, Handle drops the record
// and counts it ([Handler.Dropped]), unless Options.Block is set, when it
// waits for room (or its context). Flush waits until every record handled
// before it is written; Close flushes and stops the goroutine, and
// Shutdown(ctx) does so within ctx (a sink that no longer answers then
// loses what is left, counted, instead of holding the service). A batch the
// sink refuses (after the client's retries) is reported to OnError and
// counted as dropped.
//
// # Errors
//
// Handle never returns an error for a write: writes happen later. New
// returns an error for a missing sink or an invalid source.
//
// # Concurrency
//
// A Handler, and the handlers WithAttrs and WithGroup derive from it
// (they share its buffer), is safe for concurrent use.
package logslog
