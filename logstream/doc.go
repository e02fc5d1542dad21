// Package logstream is the live tail of the logs service: a [Broadcaster]
// that fans the entries of a [logstore.Store] out to subscriptions as they
// become visible, and the Server-Sent Events writer that serves them
// ([ServeSSE]).
//
// # Fan-out
//
// One tailer goroutine per Broadcaster reads the entries of every tenant
// beyond its cursor with Store.After, once, and hands each entry to every
// subscription of its tenant whose filter matches (logquery.Matcher), by a
// non-blocking append to the subscription's bounded buffer. The tailer
// runs while subscriptions exist: it is woken by Store.Watch (at once for
// appends through the same Store, and through LISTEN/NOTIFY for other
// processes on PostgreSQL) and polls every Options.Poll besides, because
// entries also pass the store's visibility watermark when a slow
// transaction ends, with no new append. On PostgreSQL the watermark is the
// whole cluster's: a transaction open in any database holds back entries
// committed after it started. So after each wake-up the tailer reads again
// at 5 ms, 10 ms, 20 ms ... up to Poll: an entry held back that way comes
// shortly after the holding transaction ends, at worst one Poll later.
//
// A subscription whose buffer is full is not waited for and loses nothing:
// it leaves the live feed and reads the store itself (After with its
// tenant, from the last cursor it was offered) at its reader's pace. When a
// read reaches the store's head it joins the live feed again. A subscription
// started with a cursor (a client that resumes) starts the same way:
// replay from the store, then live.
//
// # No gap, no duplicate
//
// Store.After hands out entries only below a visibility watermark, so no
// entry can appear later with a cursor before one handed out. The hand-over
// from the store to the live feed relies on that: a store read that starts
// after the tailer's read that reached cursor P has finished sees at least
// the tailer's watermark, so when it returns fewer entries than asked it
// has returned every entry of the tenant up to P. If the tailer moved past
// P meanwhile, the entries between are taken from the tailer's memory of
// recent entries (Options.Recent), or the store is read again. Events are
// deduplicated by cursor at the hand-over.
//
// # Event ids and resume
//
// A client never sees a store cursor. Each event id is the cursor sealed
// for the tenant ([Sealer]): AES over the cursor and an HMAC tag over
// tenant and ciphertext, with keys derived from Options.Key. An id that was
// altered, or sealed for another tenant or with another key, is refused
// (logs.ErrInvalid) before a stream starts. Every replica behind one API
// must share the key; logsd derives it from its configured stream key or,
// when there is none, from its JWT secret.
//
// # Tickets
//
// Browsers' EventSource cannot send an Authorization header, and a bearer
// token must not travel in a URL. A client holding a token asks for a
// [Ticket] ([Broadcaster.IssueTicket]): an AES-GCM sealed value bound to the
// tenant and the filter, valid for Options.TicketTTL (60 s), spent on first
// use through a [logstore.TicketLedger]: the store's, so that a ticket is
// single-use across replicas, or a [MemoryLedger] within one process.
//
// The event ids of a stream opened with a ticket also carry the ticket's id
// ([Sealer.SealTicket], [Subscription.BindTicket]). A browser whose stream
// drops (a restart, a network change) reconnects by itself with the same URL
// and the Last-Event-ID it was handed: [Broadcaster.OpenTicket] accepts that
// ticket again, without spending it, for as long as the credential it was
// issued on is valid ([MaxReconnect] when that has no expiry), so the
// browser resumes with no gap. Without such an id the ticket opens one
// stream, once. OpenTicket checks a ticket without spending it and
// [Broadcaster.SpendTicket] spends it, so that a server refuses a request
// for any other reason (its resume cursor, the stream limits) before the
// ticket is spent.
//
// # Serving
//
// [ServeSSE] writes a subscription as Server-Sent Events inside the
// net/http handler that calls it, on HTTP/1.1 and HTTP/2 alike: one code
// path, seen by the server's middleware and access log as any request.
// Each batch is flushed at once (http.ResponseController), each write has
// a deadline (SSEOptions.WriteTimeout), and the SSEWriter's buffer is
// written out in chunks and released when it grew large, so that a stream
// that went idle after a burst keeps little memory. A client that goes
// away is noticed at once: net/http ends the request's context. Close ends
// every stream with `event: end` (reason shutdown), cuts the deadline of
// every write, also one already waiting for a client that stopped reading,
// to 2 s, and waits for ServeSSE to return; then the HTTP server's Shutdown
// is not held by the streams either. An idle stream costs the server its
// subscription (under 1 KB) and net/http's two goroutines and buffers of a
// request (some 35 KB in all; see the README's figures).
//
// # Limits
//
// Options bound the concurrent subscriptions of the process and of each
// tenant, and the duration of one subscription. A subscription refused or
// ended by a limit, by Close (shutdown) or because the store failed gets an
// [EndError] with a reason; over SSE it becomes `event: end` with the JSON
// {"reason": ..., "message": ...}, and the client resumes by its last
// event id. Limits count subscriptions of this process only.
//
// # Errors
//
// Subscribe validates its input (logs.ErrInvalid with a *logs.Error)
// and returns an *EndError (logs.ErrRateLimited for the stream limits,
// logs.ErrUnavailable after Close) when it refuses a subscription.
// Subscription.Next returns an *EndError when the subscription was ended,
// or the context's error. Tickets that are malformed, altered, expired or
// spent are one error wrapping logs.ErrUnauthenticated.
//
// # Concurrency
//
// A Broadcaster is safe for concurrent use. A Subscription has one reader:
// Next, Recv and Position must not be called concurrently with each other;
// Close may be called from anywhere. Close stops the tailer and waits for
// it and for the calls of ServeSSE; it does not close the store.
package logstream
