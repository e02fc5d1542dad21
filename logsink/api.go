package logsink

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logconsume"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

// The types of a log stream.
const (
	TypeWebhook = "webhook"
	TypeBlob    = "blob"
)

// MaxURLLen bounds a destination URL.
const MaxURLLen = 2048

// Config is a new stream as a tenant asks for it.
type Config struct {
	Type string
	URL  string
	// Filter selects the entries (level, source, search; no dates).
	Filter logquery.Filter
	// BatchSize is the most entries of one delivery (0: the default).
	BatchSize int
	// Format of blob objects: "" or "ndjson". Gzip compresses them.
	Format string
	Gzip   bool
	// StartDate, when set, delivers the tenant's entries from that time
	// on (within the retention), the past ones included; zero: the
	// entries that arrive from now on.
	StartDate time.Time
}

// Change is a tenant's change of a stream; nil fields stay as they are.
type Change struct {
	Status    *string // "active" (resume) or "paused"
	URL       *string
	Filter    *logquery.Filter
	BatchSize *int
	Gzip      *bool
}

// Stream is a log stream as its tenant sees it: the stored stream without
// its secrets, and how far its delivery is behind.
type Stream struct {
	logstore.LogStream
	// LagEntries are the tenant's entries beyond the checkpoint (matching
	// the filter or not), counted up to 1,000,000; LagSeconds how long
	// ago delivery was last at the head, when it is behind.
	LagEntries int64
	LagSeconds float64
}

// Create stores a new stream of tenant and starts delivering it. It
// returns the stream and, for a webhook, its signing secret: the only
// time the secret is shown. A configuration error is a *logs.Error
// naming the field.
func (m *Manager) Create(ctx context.Context, tenant string, c Config) (Stream, string, error) {
	now := m.now()
	ls := logstore.LogStream{
		ID: "ls-" + uuid.NewString(), TenantID: tenant, Type: c.Type, URL: c.URL, Filter: c.Filter,
		StartDate: c.StartDate, BatchSize: c.BatchSize, Format: c.Format, Gzip: c.Gzip,
		Status: logstore.StreamActive, CreatedAt: now, UpdatedAt: now,
	}
	if err := m.check(ctx, &ls); err != nil {
		return Stream{}, "", err
	}
	if !c.StartDate.IsZero() {
		if c.StartDate.After(now) {
			return Stream{}, "", logs.Invalid("startDate", "must not be in the future (leave it out to start from now)")
		}
		if m.opts.Settings != nil {
			keep, err := m.opts.Settings.Retention(ctx, tenant)
			if err != nil {
				return Stream{}, "", err
			}
			if keep > 0 && c.StartDate.Before(now.Add(-keep)) {
				return Stream{}, "", logs.Invalid("startDate", "is older than the tenant's retention (%d days)", int(keep/(24*time.Hour)))
			}
		}
	}
	n, err := m.streams.CountLogStreams(ctx, tenant)
	if err != nil {
		return Stream{}, "", err
	}
	if n >= m.opts.MaxPerTenant {
		return Stream{}, "", logs.NewError(logs.ErrConflict, "", "the tenant has %d log streams, the most it may have; delete one first", n)
	}
	if c.StartDate.IsZero() {
		// From now: after the head, so nothing that arrives from now on is
		// missed, whenever a consumer first runs.
		if ls.Start, err = m.store.Head(ctx); err != nil {
			return Stream{}, "", err
		}
	}
	secret := ""
	if ls.Type == TypeWebhook {
		secret = NewSecret()
		if ls.Secret, err = m.sealSecret(secret); err != nil {
			return Stream{}, "", err
		}
	}
	if err := m.streams.InsertLogStream(ctx, ls); err != nil {
		return Stream{}, "", err
	}
	m.Kick()
	st, err := m.view(ctx, ls)
	return st, secret, err
}

// check validates a stream's configuration; the error is a *logs.Error
// naming the field.
func (m *Manager) check(ctx context.Context, ls *logstore.LogStream) error {
	if len(ls.URL) > MaxURLLen {
		return logs.Invalid("url", "is longer than %d bytes", MaxURLLen)
	}
	if err := logs.ValidText("url", ls.URL); err != nil {
		return err
	}
	if ls.URL == "" {
		return logs.Invalid("url", "is required")
	}
	switch ls.Type {
	case TypeWebhook:
		u, err := url.Parse(ls.URL)
		if err != nil || u.Opaque != "" {
			return logs.Invalid("url", "must be an https:// URL")
		}
		if u.Fragment != "" {
			return logs.Invalid("url", "must not have a #fragment")
		}
		if err := m.opts.Guard.CheckURL(ctx, u); err != nil {
			// The client reads "address refused: ...", not the package.
			return logs.Invalid("url", "%s", strings.TrimPrefix(err.Error(), "logsink: "))
		}
		if ls.Format != "" {
			return logs.Invalid("format", "is for blob streams (a webhook gets JSON)")
		}
		if ls.Gzip {
			return logs.Invalid("gzip", "is for blob streams")
		}
	case TypeBlob:
		if _, err := m.blobTarget(ls.TenantID, ls.URL); err != nil {
			return err
		}
		switch ls.Format {
		case "":
			ls.Format = "ndjson"
		case "ndjson":
		default:
			return logs.Invalid("format", "must be ndjson")
		}
	case "":
		return logs.Invalid("type", "is required: webhook or blob")
	default:
		return logs.Invalid("type", "must be webhook or blob")
	}
	switch {
	case ls.BatchSize == 0:
		ls.BatchSize = DefaultBatchSize
	case ls.BatchSize < 1 || ls.BatchSize > MaxBatchSize:
		return logs.Invalid("batchSize", "must be an integer from 1 to %d", MaxBatchSize)
	}
	if !ls.Filter.Start.IsZero() || !ls.Filter.End.IsZero() {
		return logs.Invalid("filter", "takes level, source and search; a stream starts at startDate and has no end")
	}
	if err := ls.Filter.Validate(); err != nil {
		return err
	}
	return nil
}

// Get returns tenant's stream id with its lag. Another tenant's stream is
// an error wrapping logs.ErrNotFound, exactly like an unknown id.
func (m *Manager) Get(ctx context.Context, tenant, id string) (Stream, error) {
	ls, err := m.streams.LogStream(ctx, tenant, id)
	if err != nil {
		return Stream{}, err
	}
	return m.view(ctx, ls)
}

// List returns tenant's streams, oldest first, with their lag.
func (m *Manager) List(ctx context.Context, tenant string) ([]Stream, error) {
	all, err := m.streams.TenantLogStreams(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]Stream, 0, len(all))
	for _, ls := range all {
		st, err := m.view(ctx, ls)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (m *Manager) view(ctx context.Context, ls logstore.LogStream) (Stream, error) {
	ls.Secret, ls.PreviousSecret = "", ""
	st := Stream{LogStream: ls}
	l, found, err := logconsume.LagOf(ctx, m.consumers, ConsumerPrefix+ls.ID, ls.TenantID, m.now())
	if err != nil {
		return Stream{}, err
	}
	if !found { // no replica ran it yet: behind from its start
		n, err := m.consumers.CountAfter(ctx, ls.TenantID, ls.Start, 1_000_000)
		if err != nil {
			return Stream{}, err
		}
		l.Entries = n
		if n > 0 {
			l.Seconds = max(m.now().Sub(ls.CreatedAt).Seconds(), 0)
		}
	}
	st.LagEntries, st.LagSeconds = l.Entries, l.Seconds
	return st, nil
}

// Update applies a tenant's change to its stream id: pause, resume
// (delivery goes on from where it stopped), another filter, URL or batch
// size (from the next batch on).
func (m *Manager) Update(ctx context.Context, tenant, id string, c Change) (Stream, error) {
	ls, err := m.streams.LogStream(ctx, tenant, id)
	if err != nil {
		return Stream{}, err
	}
	if c.URL != nil {
		ls.URL = *c.URL
	}
	if c.Filter != nil {
		ls.Filter = *c.Filter
	}
	if c.BatchSize != nil {
		if *c.BatchSize == 0 {
			return Stream{}, logs.Invalid("batchSize", "must be an integer from 1 to %d", MaxBatchSize)
		}
		ls.BatchSize = *c.BatchSize
	}
	if c.Gzip != nil {
		ls.Gzip = *c.Gzip
	}
	if err := m.check(ctx, &ls); err != nil {
		return Stream{}, err
	}
	if c.Status != nil {
		switch *c.Status {
		case logstore.StreamActive:
			if ls.Status == logstore.StreamPaused {
				ls.Status, ls.Reason = logstore.StreamActive, ""
			}
		case logstore.StreamPaused:
			if ls.Status != logstore.StreamPaused {
				ls.Status, ls.Reason = logstore.StreamPaused, "paused by the tenant"
			}
		default:
			return Stream{}, logs.Invalid("status", "must be active (resume) or paused")
		}
	}
	ls.UpdatedAt = m.now()
	if err := m.streams.UpdateLogStream(ctx, ls); err != nil {
		return Stream{}, err
	}
	m.Kick()
	return m.Get(ctx, tenant, id)
}

// RotateSecret gives tenant's webhook stream id a new signing secret and
// returns it (the only time it is shown). The previous secret signs too
// for RotationGrace, so deliveries carry both signatures meanwhile.
func (m *Manager) RotateSecret(ctx context.Context, tenant, id string) (Stream, string, error) {
	ls, err := m.streams.LogStream(ctx, tenant, id)
	if err != nil {
		return Stream{}, "", err
	}
	if ls.Type != TypeWebhook {
		return Stream{}, "", logs.NewError(logs.ErrInvalid, "", "only webhook streams have a signing secret")
	}
	secret := NewSecret()
	sealed, err := m.sealSecret(secret)
	if err != nil {
		return Stream{}, "", err
	}
	now := m.now()
	ls.PreviousSecret, ls.PreviousUntil, ls.Secret, ls.UpdatedAt = ls.Secret, now.Add(RotationGrace), sealed, now
	if err := m.streams.UpdateLogStream(ctx, ls); err != nil {
		return Stream{}, "", err
	}
	st, err := m.Get(ctx, tenant, id)
	return st, secret, err
}

// Delete stops tenant's stream id and forgets it with its checkpoint.
func (m *Manager) Delete(ctx context.Context, tenant, id string) error {
	if err := m.streams.DeleteLogStream(ctx, tenant, id); err != nil {
		return err
	}
	m.Kick()
	if err := m.consumers.DeleteConsumer(ctx, ConsumerPrefix+id); err != nil && !errors.Is(err, logs.ErrNotFound) {
		return err
	}
	return nil
}
