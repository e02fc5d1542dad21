package logstore

import (
	"context"
	"time"

	"github.com/ithbat/logs/logquery"
)

// LogStream is a tenant's log stream as stored: a destination (a webhook
// or a bucket) that a durable consumer pushes the tenant's matching
// entries to (package logsink). The conventions of persist.go apply.
type LogStream struct {
	ID       string // "ls-" and a UUID
	TenantID string
	Type     string // "webhook" or "blob"
	URL      string
	Filter   logquery.Filter // level, source, search; no dates
	// StartDate, when set, holds back the entries created before it.
	StartDate time.Time
	// Start is the checkpoint the stream's consumer starts after.
	Start     Cursor
	BatchSize int
	Format    string // "ndjson" (blob)
	Gzip      bool   // blob objects are gzip-compressed
	// Secret signs webhook deliveries (whsec_...; possibly sealed by the
	// caller: the store keeps it as given). PreviousSecret, when set,
	// signs them too until PreviousUntil: a rotation's grace period.
	Secret         string
	PreviousSecret string
	PreviousUntil  time.Time

	// Status is "active", "failing" or "paused"; Reason says why it is
	// paused.
	Status string
	Reason string

	// The store's own bookkeeping: entries delivered (committed with the
	// consumer's checkpoint, see LogStreamDelivered), the last failure
	// and success, and since when it has failed without a success.
	Delivered     int64
	LastError     string
	LastErrorAt   time.Time
	LastSuccessAt time.Time
	FailingSince  time.Time

	CreatedAt time.Time
	UpdatedAt time.Time
}

// The statuses of a log stream.
const (
	StreamActive  = "active"
	StreamFailing = "failing"
	StreamPaused  = "paused"
)

// LogStreams keeps tenants' log streams.
type LogStreams interface {
	// InsertLogStream stores a new log stream. An id that the tenant has
	// already is an error wrapping logs.ErrConflict.
	InsertLogStream(ctx context.Context, s LogStream) error

	// LogStream returns tenant's log stream id, or an error wrapping
	// logs.ErrNotFound when tenant has none of that id (another tenant's
	// stream is not found either).
	LogStream(ctx context.Context, tenant, id string) (LogStream, error)

	// TenantLogStreams returns tenant's log streams, oldest first.
	TenantLogStreams(ctx context.Context, tenant string) ([]LogStream, error)

	// CountLogStreams returns the number of tenant's log streams.
	CountLogStreams(ctx context.Context, tenant string) (int, error)

	// AllLogStreams returns every tenant's log streams (for the workers
	// that deliver them), by tenant and id.
	AllLogStreams(ctx context.Context) ([]LogStream, error)

	// UpdateLogStream stores the configuration of s (URL, Filter,
	// BatchSize, Gzip, Secret, PreviousSecret, PreviousUntil, Status,
	// Reason, UpdatedAt) over tenant s.TenantID's stream s.ID. The
	// bookkeeping is the store's: it keeps Delivered and the last error
	// and success, and clears FailingSince when Status becomes active. A
	// stream the tenant does not have is an error wrapping
	// logs.ErrNotFound.
	UpdateLogStream(ctx context.Context, s LogStream) error

	// DeleteLogStream forgets tenant's log stream id (its consumer's
	// checkpoint is the caller's: Consumers.DeleteConsumer). A stream the
	// tenant does not have is an error wrapping logs.ErrNotFound.
	DeleteLogStream(ctx context.Context, tenant, id string) error

	// LogStreamFailed records a failed delivery of tenant's stream id at
	// at: the error (text for the client), FailingSince when it is the
	// first failure since a success, and status failing; or paused, with
	// pauseReason, once it has failed for pauseAfter or longer (a paused
	// stream stays paused). It returns the stream as updated.
	LogStreamFailed(ctx context.Context, tenant, id, errText string, at time.Time, pauseAfter time.Duration, pauseReason string) (LogStream, error)
}

// LogStreamDelivered is the Effect of a log stream's consumer: N entries
// of tenant Tenant's stream ID were delivered at At. It adds N to the
// stream's Delivered count in the transaction that moves the checkpoint
// over them, so the count is exact however often a batch was sent; with N
// above zero it also records the success (LastSuccessAt) and ends a
// failing status. A stream that no longer exists is left alone.
type LogStreamDelivered struct {
	Tenant, ID string
	N          int64
	At         time.Time
}

func (LogStreamDelivered) effect() {}
