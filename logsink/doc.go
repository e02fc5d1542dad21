// Package logsink delivers tenants' log streams: it pushes every entry of
// a tenant that a stream's filter selects to the stream's destination, a
// webhook or a bucket, in cursor order, with nothing lost.
//
// A [Manager] keeps the streams (through logstore.LogStreams) and runs one
// durable consumer per stream that is not paused (package logconsume, on
// a Runner of its own): any replica may run any stream, one at a time,
// from the stream's checkpoint in the database.
//
// # Delivery
//
// Each batch of the consumer (up to the stream's batchSize entries after
// the checkpoint) is filtered, then delivered as one request or object
// (several, in order, when its body would pass MaxDeliveryBytes);
// the checkpoint moves over it only once the destination took it, in the
// transaction that also counts it (logstore.LogStreamDelivered), so the
// delivered count is exact. Delivery is at least once: a process that
// dies between the delivery and the checkpoint, or loses its lease,
// leaves the batch to the next owner, which delivers it again (and only
// it). Batches never overtake one another and nothing is skipped. A
// failed batch is retried as it was, with exponential backoff and jitter
// (logconsume.Options.Retry up to MaxRetry); the stream is "failing"
// meanwhile, with the error, and "paused" with the reason once it has
// failed for Options.PauseAfter without a success. A paused stream sends
// nothing; resuming it goes on from its checkpoint. A slow or dead
// destination holds only its own consumer: ingest never waits for a
// stream, and other streams run in goroutines of their own.
//
// Webhooks get POST {"logs":[...]} with the entries exactly as the list
// writes them, signed per Standard Webhooks: webhook-id (the same for the
// same batch, msg_ and a hash of the stream, the batch's cursors and body),
// webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>" over
// "id.timestamp.body" keyed with the stream's whsec_ secret ([Sign],
// [Verify]). Any 2xx is success. During a rotation both secrets sign.
// Buckets get one NDJSON object per batch (optionally gzip), named by the
// cursor of the batch's first entry, zero-padded, so that the lexical
// order of the names is the delivery order and a batch delivered again
// replaces its object.
//
// # Outbound requests
//
// The [Guard] refuses destinations on loopback, private, link-local
// (cloud metadata), shared, multicast and reserved addresses, at creation
// (after resolving the name) and at every connection (the dialer's
// Control, after resolution, so also after every redirect and after the
// name's records changed). Webhook URLs are https unless the operator
// allows private addresses. Redirects are followed only as 307 or 308
// (a POST stays a POST), at most 3, never to http from https; the
// environment's proxy is not used; one request, redirects included, takes
// at most Options.Timeout; the answer's body is read up to 64 KiB and
// dropped. Blob streams write only inside the buckets the operator lists
// (Options.Buckets, {tenant} standing for the tenant), with the server's
// credentials and the listed URL's query: a tenant cannot name another
// endpoint or another tenant's prefix.
//
// # Errors
//
// Create, Update and the others return a *logs.Error naming the field
// (logs.ErrInvalid) for a configuration they refuse, logs.ErrNotFound for
// a stream the tenant does not have (another tenant's included),
// logs.ErrConflict beyond Options.MaxPerTenant streams, and the store's
// errors otherwise. Delivery errors are not returned: they are recorded
// on the stream (LastError) and logged.
//
// # Concurrency
//
// A Manager is safe for concurrent use. Start starts its goroutines;
// Close stops them, letting a delivery in progress finish (bounded by the
// timeout), and waits.
package logsink
