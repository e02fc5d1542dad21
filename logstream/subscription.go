package logstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

// EndReason says why the Broadcaster ended a stream. It is the "reason" of
// the SSE `event: end`.
type EndReason string

// The reasons a stream ends. After each, the client may reconnect with the
// last event id and resumes with no gap.
const (
	// EndShutdown: the server is shutting down (Broadcaster.Close).
	EndShutdown EndReason = "shutdown"
	// EndMaxDuration: the stream lasted Options.MaxDuration.
	EndMaxDuration EndReason = "max_duration"
	// EndStreamLimit: the server has Options.MaxStreams streams open.
	EndStreamLimit EndReason = "stream_limit"
	// EndTenantStreamLimit: the tenant has Options.MaxStreamsPerTenant
	// streams open on this server.
	EndTenantStreamLimit EndReason = "tenant_stream_limit"
	// EndUnavailable: the store could not be read.
	EndUnavailable EndReason = "unavailable"
	// EndCredentialExpired: the token the stream was opened with expired
	// (the owner of the subscription calls End with it).
	EndCredentialExpired EndReason = "credential_expired"

	// EndDisconnected is not sent: the client went away, or a write to
	// it failed (Options.OnEnd only).
	EndDisconnected EndReason = "disconnected"
	// endClosed: the reader closed the subscription itself.
	endClosed EndReason = "closed"
)

var endMessages = map[EndReason]string{
	EndShutdown:          "the server is shutting down; reconnect with the last event id to resume",
	EndMaxDuration:       "the stream reached its maximum duration; reconnect with the last event id to resume",
	EndStreamLimit:       "the server has reached its limit of concurrent streams; retry later",
	EndTenantStreamLimit: "the tenant has reached its limit of concurrent streams; close another stream or retry later",
	EndUnavailable:       "the log store is unavailable; retry later with the last event id",
	EndCredentialExpired: "the credential of the stream expired; reconnect with a fresh one and the last event id",
	endClosed:            "the subscription was closed",
}

// EndError is how a stream ends by the server's decision. Its Unwrap is
// logs.ErrRateLimited for the stream limits and logs.ErrUnavailable
// otherwise.
type EndError struct {
	Reason  EndReason `json:"reason"`
	Message string    `json:"message"`
}

func endError(r EndReason) *EndError { return &EndError{Reason: r, Message: endMessages[r]} }

func (e *EndError) Error() string { return "logstream: stream ended: " + string(e.Reason) }

// Unwrap returns the error code of the reason.
func (e *EndError) Unwrap() error {
	if e.Reason == EndStreamLimit || e.Reason == EndTenantStreamLimit {
		return logs.ErrRateLimited
	}
	return logs.ErrUnavailable
}

// Subscription is one reader's view of the live entries of a tenant that
// match a filter. Its reader calls Next when Ready fires; see Recv for a
// blocking loop.
type Subscription struct {
	b      *Broadcaster
	tenant string
	match  *logquery.Matcher
	ready  chan struct{} // capacity 1: "call Next"
	once   sync.Once
	ticket string // the ticket the stream was opened with (BindTicket), "" for none

	mu       sync.Mutex
	timer    *time.Timer // Options.MaxDuration
	endAt    *time.Timer // EndAt
	stopCtx  func() bool
	live     bool            // fed by the tailer; else catching up from the store
	buf      []*Event        // events for the reader, at most Options.Buffer
	bufBytes int             // their JSON, at most Options.BufferBytes
	spare    []*Event        // the slice handed out by the previous Next
	floor    logstore.Cursor // live: entries up to floor were read from the store
	cov      logstore.Cursor // catching up: every match up to cov was handed out or is in buf
	last     logstore.Cursor // cursor of the last event handed out
	ended    *EndError
}

// Tenant returns the subscription's tenant.
func (s *Subscription) Tenant() string { return s.tenant }

// BindTicket makes the event ids of s carry the id of the ticket v it was
// opened with ([Sealer.SealTicket]), so that the browser holding the
// ticket can reconnect with them ([Broadcaster.OpenTicket]). Call it
// before the subscription is served.
func (s *Subscription) BindTicket(v VerifiedTicket) { s.ticket = v.id }

// EventID returns the event id of ev on this subscription.
func (s *Subscription) EventID(ev *Event) string {
	if s.ticket == "" {
		return ev.ID
	}
	return s.b.sealer.SealTicket(s.tenant, s.ticket, ev.Cursor)
}

// IDAt returns the event id of position c on this subscription.
func (s *Subscription) IDAt(c logstore.Cursor) string {
	return s.b.sealer.SealTicket(s.tenant, s.ticket, c)
}

// Ready returns a channel that receives a value when Next may have events,
// more catching up to do, or when the subscription ended.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

func (s *Subscription) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// offer is the tailer's non-blocking send: it puts ev in the buffer or, when
// the buffer is full, switches s to catching up from the store after prev
// (every entry before ev was offered). Called with b.mu held.
func (s *Subscription) offer(ev *Event, prev logstore.Cursor, capacity, capacityBytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.live || !s.floor.Less(ev.Cursor) {
		return
	}
	if len(s.buf) >= capacity || len(s.buf) > 0 && s.bufBytes+len(ev.Data) > capacityBytes {
		s.live = false
		s.cov = maxCursor(prev, s.floor)
	} else {
		s.buf = append(s.buf, ev)
		s.bufBytes += len(ev.Data)
	}
	s.signal()
}

// EndAt ends the subscription with reason r at t (see End), unless it has
// ended or was closed before.
func (s *Subscription) EndAt(t time.Time, r EndReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended != nil {
		return
	}
	if s.endAt != nil {
		s.endAt.Stop()
	}
	s.endAt = time.AfterFunc(time.Until(t), func() { s.end(r) })
}

// End ends the subscription with reason r, unless it has ended already:
// its reader's Next returns an *EndError (over SSE: `event: end`). Its
// owner uses it for limits of its own, such as the expiry of the credential
// the stream was opened with. The reader must still call Close.
func (s *Subscription) End(r EndReason) { s.end(r) }

// end ends s with reason r, unless it ended already, and returns how it
// ended.
func (s *Subscription) end(r EndReason) *EndError {
	s.mu.Lock()
	if s.ended == nil {
		s.ended = endError(r)
	}
	err := s.ended
	s.mu.Unlock()
	s.b.remove(s)
	s.signal()
	return err
}

// Next returns the events available now, in cursor order, without waiting
// for new ones: what the tailer handed to the subscription, or, while it is
// catching up, a batch read from the store. It returns no events and no
// error when there is nothing yet (wait for Ready). It returns an *EndError
// when the Broadcaster ended the subscription, or ctx's error.
//
// The returned slice is valid until the next call of Next.
func (s *Subscription) Next(ctx context.Context) ([]*Event, error) {
	s.mu.Lock()
	if s.ended != nil {
		err := s.ended
		s.mu.Unlock()
		return nil, err
	}
	if len(s.buf) > 0 {
		out := s.buf
		s.buf, s.spare, s.bufBytes = s.spare[:0], out, 0
		out = s.dedupe(out)
		if !s.live {
			s.signal() // come back to catch up
		}
		s.mu.Unlock()
		return out, nil
	}
	if s.live {
		s.mu.Unlock()
		return nil, nil
	}
	cov := s.cov
	s.mu.Unlock()
	return s.catchUp(ctx, cov)
}

// dedupe drops events at or before the last one handed out and advances
// last. Called with s.mu held.
func (s *Subscription) dedupe(evs []*Event) []*Event {
	out := evs[:0]
	for _, ev := range evs {
		if s.last.Less(ev.Cursor) {
			out = append(out, ev)
			s.last = ev.Cursor
		}
	}
	return out
}

// catchUp reads one batch of the tenant's entries after cov from the store.
func (s *Subscription) catchUp(ctx context.Context, cov logstore.Cursor) ([]*Event, error) {
	b := s.b
	b.mu.Lock()
	tailed := b.pos // read before the store read starts: see below
	b.mu.Unlock()
	recs, err := b.store.After(ctx, s.tenant, cov, b.opts.Batch)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, logs.ErrInvalid) {
			return nil, fmt.Errorf("logstream: catch up: %w", err)
		}
		b.log.Warn("logstream: catch up from the store", "tenant", s.tenant, "err", err)
		return nil, s.end(EndUnavailable)
	}
	var out []*Event
	for _, r := range recs {
		if r.Entry.TenantID != s.tenant || !s.match.Match(r.Entry) {
			continue
		}
		ev, err := b.event(r)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	if len(recs) > 0 {
		cov = recs[len(recs)-1].Cursor
	}
	complete := len(recs) < b.opts.Batch
	if complete && cov.Less(tailed) {
		// The read started after the tailer's read that reached tailed
		// had finished, so it saw at least that watermark: it returned
		// every entry of the tenant up to tailed.
		cov = tailed
	}
	s.mu.Lock()
	if s.ended != nil {
		err := s.ended
		s.mu.Unlock()
		return nil, err
	}
	if s.live { // cannot happen: only Next's caller makes s live
		s.mu.Unlock()
		return nil, fmt.Errorf("logstream: catch up of a live subscription: %w", logs.ErrInternal)
	}
	s.cov = cov
	out = s.dedupe(out)
	s.mu.Unlock()
	again := !complete
	if complete {
		_, again = b.join(s)
	}
	if again {
		s.signal()
	}
	return out, nil
}

// Position returns a cursor up to which the reader has been handed every
// matching entry: the id to resume from when nothing newer was handed out.
// It never goes back.
func (s *Subscription) Position() logstore.Cursor {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.last
	if len(s.buf) > 0 || s.ended != nil {
		// An ended subscription is no longer offered entries: only what
		// it handed out counts.
		return p
	}
	if s.live {
		p = maxCursor(p, maxCursor(s.floor, s.b.pos))
	} else {
		p = maxCursor(p, s.cov)
	}
	s.last = p
	return p
}

func maxCursor(a, b logstore.Cursor) logstore.Cursor {
	if a.Less(b) {
		return b
	}
	return a
}

// Recv waits for events and returns them: Next in a loop with Ready.
func (s *Subscription) Recv(ctx context.Context) ([]*Event, error) {
	for {
		evs, err := s.Next(ctx)
		if err != nil || len(evs) > 0 {
			return evs, err
		}
		select {
		case <-s.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close ends the subscription and frees its place; it is idempotent. It
// is called when the context given to Subscribe ends.
func (s *Subscription) Close() error {
	s.once.Do(func() {
		s.b.remove(s)
		s.mu.Lock()
		if s.timer != nil {
			s.timer.Stop()
		}
		if s.endAt != nil {
			s.endAt.Stop()
		}
		if s.stopCtx != nil {
			s.stopCtx()
		}
		if s.ended == nil {
			s.ended = endError(endClosed)
		}
		s.buf, s.spare = nil, nil
		s.mu.Unlock()
		s.signal()
	})
	return nil
}
