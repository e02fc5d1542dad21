// Package loghttp serves the Logs API over HTTP: a [Server] (an
// http.Handler on gorilla/mux) in front of a logstore.Store.
//
// Routes:
//
//	GET  /healthz        no auth; 200 while the process serves
//	GET  /readyz         no auth; 200 when every ReadyCheck passes, else 503 naming it
//	GET  /metrics        Prometheus metrics (Options.MetricsAccess)
//	GET  /api/v1/openapi.json  no auth; the OpenAPI 3.1 document (openapi.json)
//	GET  /api/v1/logs    log:read;  list with the filters of package logquery
//	POST /api/v1/logs    log:write; ingest one entry, {"logs":[...]} or NDJSON; gzip bodies
//	POST /otlp/v1/logs   log:write; OTLP/HTTP logs, protobuf or JSON
//	GET  /api/v1/logs/stream          log:read or a ticket; live stream (SSE)
//	POST /api/v1/logs/stream/tickets  log:read; a single-use stream ticket
//	POST /api/v1/logs/export             log:read; 202, an export job (package logexport)
//	GET  /api/v1/logs/export/{exportId}  log:read; the job; downloadUrl once ready
//	GET  /api/v1/logs/export/download    no auth: the signed query is the credential
//	POST   /api/v1/log-streams              log:admin; 201, a log stream (package logsink) and its secret
//	GET    /api/v1/log-streams              log:admin; the tenant's log streams
//	GET    /api/v1/log-streams/{id}         log:admin; status, delivered, lag, last error and success
//	PATCH  /api/v1/log-streams/{id}         log:admin; pause, resume, filter, url, batchSize, gzip
//	DELETE /api/v1/log-streams/{id}         log:admin; stop and forget it
//	POST   /api/v1/log-streams/{id}/secret  log:admin; rotate the signing secret
//
// Each GET route but the stream also answers HEAD (the same status and
// headers, no body), as HTTP requires.
//
// Every request but /healthz, /readyz, /metrics and the document is
// authenticated by an [Authenticator] (package
// loghttp/jwtauth verifies JWTs) and is scoped to the tenant named by the
// X-Tenant-ID header, which must be the [Principal]'s tenant. The checks run
// in this order: a missing or bad token is 401 (with WWW-Authenticate:
// Bearer); a missing or malformed X-Tenant-ID is 400; an X-Tenant-ID that is
// not the token's tenant is 403; a missing permission is 403.
//
// Every response is the envelope {"success":true,"data":...} or
// {"success":false,"error":{"code":...,"message":...,"field":...}} (field
// only when one input field is at fault), unknown routes and methods
// included (404 not_found, or 405 method_not_allowed with an Allow header),
// and carries an X-Request-ID header: the client's own when it is
// sane (1 to 128 of A-Z a-z 0-9 . _ : + = / -), else a new one.
//
// Every route lists the query parameters it takes in the route table
// (server.go): the list its filter fields (logquery.Fields) and page,
// limit; the stream the filter fields, ticket and lastEventId; a download
// the parameters its signer writes; the others none. Any other parameter is
// a 400 naming it, after authentication (routes that authenticate
// themselves, the stream and downloads, check first), so that a typo never
// widens a filter. access_token is refused on every route, before anything
// else: a bearer token never goes into a URL.
//
// Every time the server writes (an entry's createdAt, an export's createdAt
// and expiresAt, a ticket's expiresAt) is logs.TimeFormat: RFC 3339 in UTC
// with exactly six fractional digits, so that the strings sort as times.
//
// A JSON body (ingest, export, stream tickets) has the Content-Type
// application/json (parameters allowed; a charset other than utf-8 is
// refused) or none at all; ingest also takes the NDJSON types
// application/x-ndjson, application/ndjson, application/jsonl,
// application/x-jsonlines and application/jsonlines. Any other type is a
// 400 naming Content-Type. One function (bodyType) applies the rule.
//
// JSON bodies (ingest, export, stream tickets) must be what they look
// like: a member given twice (in any object, metadata and the objects
// nested in it included), bytes that are not UTF-8, and fields the
// request does not have are refused with 400 naming the field, rather than
// read in some way of the decoder's choosing. A body must arrive within
// [Options.BodyTimeout] (else 400), and a JSON answer must be taken by the
// client within [Options.WriteTimeout] (else the connection is closed).
//
// # Ingest
//
// POST /api/v1/logs takes a body of one JSON entry, {"logs":[...]}, or
// NDJSON (one entry per line; chosen by an NDJSON Content-Type such as
// application/x-ndjson, or detected when the body holds more than one JSON
// value). At most
// [Options.MaxIngestEntries] entries and [Options.MaxIngestBytes] bytes are
// taken per request; beyond that the answer is 413. Fields other than the
// entry's are refused, naming them, and so is metadata holding a number
// beyond the range of a 64-bit float (most clients could not read it
// back). The tenant is always the authenticated
// one: an entry whose tenantId names another is refused with 403. Errors
// about an entry name it as logs[i].field, where i counts entries from 0 in
// the request (0 for a single entry). The batch is stored atomically; the
// answer is 201 with {"ids":[...],"count":n}.
//
// # Live stream
//
// GET /api/v1/logs/stream serves [Options.Stream] (package logstream) as
// Server-Sent Events, with the list's filters (level, source, search,
// startDate, endDate). It resumes after the event id of the Last-Event-ID
// header or, when there is none, of the lastEventId parameter; an id that is
// malformed or not of the tenant is 400 before the stream starts. Browsers,
// whose EventSource cannot send headers, first POST the filter as JSON
// (only level, source, search, startDate, endDate; an empty body for none) to
// /api/v1/logs/stream/tickets and open the streamUrl of the answer: a
// ticket valid 60 s for one stream of that tenant and filter, with no
// Authorization or X-Tenant-ID header (the answer's lastEventId is the
// stream's position when the ticket was made). The ticket is spent only when
// its stream starts: a request refused for its Last-Event-ID, its headers,
// its parameters or the stream limits leaves it usable. A bearer token in the URL
// (access_token) is refused. A stream ends with `event: end` and a JSON
// reason at the server's limits, at shutdown, and when the token it was
// opened with expires.
//
// # Adding a resource
//
// A resource (the stream, exports) is a file of handlers of type
// handlerFunc, a line per route in the table of routes (server.go) naming
// its permission, and a field in Options for its collaborator. Handlers
// return errors rather than writing them; writeData and writeJSON write
// success envelopes. The route also gets a path in openapi.json (one file:
// paths, then components): TestOpenAPIRoutes names any route, query
// parameter or permission that the table and the document do not share,
// and every answer of the tests is validated against the document.
//
// # Operations
//
// Metrics (Prometheus, on the registry of [Metrics], never the global
// one) count every request by route template, method and status; no label
// holds a client's input. Each authenticated request takes a token of its
// tenant's bucket ([Limits]; golang.org/x/time/rate), each ingested entry
// one of its ingest bucket; over either, 429 rate_limited with Retry-After.
// Answers of 1 KiB or more are compressed when the client asks, but the
// stream's and /metrics'. With [Options].CORSOrigins, browsers on those
// origins may call the API.
//
// # Errors
//
// Handlers return errors; one table in errors.go maps the code of an error
// ([logs.Code]) to its status: invalid_argument 400, unauthenticated 401,
// permission_denied 403, not_found 404, conflict 409, payload_too_large 413,
// rate_limited 429, unavailable 503, internal 500; and HTTP's own
// method_not_allowed 405 and range_not_satisfiable 416. The message and field the
// client sees come from the *logs.Error in the chain when it has the
// chain's code, else the message is a fixed text per code: the text of
// other errors is never shown, and a 500 always reads the fixed text. Errors
// with status 500 and 503 are logged with the request id, which the client
// gets in X-Request-ID.
//
// # Concurrency
//
// A Server is safe for concurrent use once New returns; it starts no
// goroutines of its own.
package loghttp
