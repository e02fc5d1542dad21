package logexport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

// Format is the file format of an export.
type Format string

// The formats. csv and json are those of the API document; ndjson is an
// extension.
const (
	FormatCSV    Format = "csv"
	FormatJSON   Format = "json"
	FormatNDJSON Format = "ndjson"
)

// ParseFormat returns the format named s (exact, lower case), or a
// *logs.Error for "format".
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatCSV, FormatJSON, FormatNDJSON:
		return f, nil
	case "":
		return "", logs.Invalid("format", "is required: csv or json")
	}
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return "", logs.Invalid("format", "must be one of csv, json, ndjson; got %q", s)
}

// ContentType is the MIME type of a file of format f.
func (f Format) ContentType() string {
	switch f {
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatNDJSON:
		return "application/x-ndjson"
	}
	return "application/json"
}

// Status is the state of an export job.
type Status string

// The states of a job. A job is created "processing" and ends "ready" or
// "failed"; a ready job becomes "expired" when its file is deleted.
const (
	StatusProcessing Status = "processing"
	StatusReady      Status = "ready"
	StatusFailed     Status = "failed"
	StatusExpired    Status = "expired"
)

// Job is an export job as seen by its tenant.
type Job struct {
	ID               string // "exp-" and a UUID
	TenantID         string
	Format           Format
	Filter           logquery.Filter // the conditions; paging unused
	Status           Status
	EstimatedRecords int64 // matching entries at submission: the file's size in entries
	Records          int64 // entries written: so far while processing (stored every Options.Progress), all once ready
	Error            string
	Attempts         int
	CreatedAt        time.Time
	FinishedAt       time.Time // zero while processing
	FileExpiresAt    time.Time // when the file is deleted; zero unless ready or expired

	// DownloadURL and ExpiresAt are set by Get for a ready job: a freshly
	// signed URL and the moment it stops working.
	DownloadURL string
	ExpiresAt   time.Time
}

// Options configure an Exporter. A nil *Options, and every zero field, mean
// the defaults given.
type Options struct {
	// Logger receives the workers' logs. Default slog.Default().
	Logger *slog.Logger
	// Workers is the number of jobs run at once by this process. Default 2.
	Workers int
	// Lease is how long a claimed job stays with its worker without a
	// renewal; a job whose worker died is taken up again after it. The
	// worker renews it every Progress. Default 30s.
	Lease time.Duration
	// Progress is how often a worker stores how many entries it has
	// written (Job.Records while processing), renewing its lease with it.
	// Default 1s; at most Lease/3.
	Progress time.Duration
	// Poll is how often idle workers look for jobs submitted elsewhere and
	// the janitor runs. Default 2s.
	Poll time.Duration
	// MaxAttempts is how many times a job is tried before it fails.
	// Default 3.
	MaxAttempts int
	// Deadline is the longest a job may take from submission; then it
	// fails. Default 15m.
	Deadline time.Duration
	// Retention is how long a file is kept after its job finished; then it
	// is deleted and the job reports "expired". Default 24h.
	Retention time.Duration
	// JobRetention is how long a failed or expired job is still reported
	// before its row is deleted (and the id is unknown). Default 7 days.
	JobRetention time.Duration
	// URLExpiry is how long a download URL works. Default 1h.
	URLExpiry time.Duration
	// MaxPending is how many jobs one tenant may have in progress at once;
	// Submit returns logs.ErrRateLimited beyond it. Default 10.
	MaxPending int
	// BufferSize is the size of the write buffer in front of the bucket.
	// Default 1 MiB.
	BufferSize int
	// Signer, when set, signs download URLs instead of the bucket, and
	// Download verifies them: for buckets that cannot sign (file://,
	// mem://), whose files the daemon serves itself. See NewFileSigner.
	Signer fileblob.URLSigner
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.Workers <= 0 {
		r.Workers = 2
	}
	if r.Lease <= 0 {
		r.Lease = 30 * time.Second
	}
	if r.Progress <= 0 {
		r.Progress = time.Second
	}
	r.Progress = min(r.Progress, r.Lease/3)
	if r.Poll <= 0 {
		r.Poll = 2 * time.Second
	}
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 3
	}
	if r.Deadline <= 0 {
		r.Deadline = 15 * time.Minute
	}
	if r.Retention <= 0 {
		r.Retention = 24 * time.Hour
	}
	if r.JobRetention <= 0 {
		r.JobRetention = 7 * 24 * time.Hour
	}
	if r.URLExpiry <= 0 {
		r.URLExpiry = time.Hour
	}
	if r.MaxPending <= 0 {
		r.MaxPending = 10
	}
	if r.BufferSize <= 0 {
		r.BufferSize = 1 << 20
	}
	return r
}

// Exporter submits, runs and reports export jobs. Create it with New.
type Exporter struct {
	store  logstore.Store
	jobs   logstore.ExportJobs
	bucket *blob.Bucket
	opts   Options
	log    *slog.Logger

	wake chan struct{}

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	// Test hooks.
	now     func() time.Time
	rowHook func(ctx context.Context, n int64)
}

// New returns an Exporter that reads entries from store, keeps its jobs in
// jobs (the store's own database: a bunstore.Store is both) and writes
// files into bucket. It does not start workers (Start). Close does not
// close store, jobs or bucket.
func New(store logstore.Store, jobs logstore.ExportJobs, bucket *blob.Bucket, opts *Options) (*Exporter, error) {
	if store == nil || jobs == nil || bucket == nil {
		return nil, fmt.Errorf("logexport: New needs a store, a job table and a bucket: %w", logs.ErrInternal)
	}
	o := opts.withDefaults()
	return &Exporter{
		store: store, jobs: jobs, bucket: bucket, opts: o, log: o.Logger,
		wake: make(chan struct{}, 1),
		now:  time.Now,
	}, nil
}

// Submit creates an export job for tenant of the entries that match f
// (paging ignored) and are visible now, and wakes a worker. The job is
// returned in status "processing" with its EstimatedRecords.
func (e *Exporter) Submit(ctx context.Context, tenant string, format Format, f logquery.Filter) (Job, error) {
	if err := logs.ValidateTenant("tenantId", tenant); err != nil {
		return Job{}, err
	}
	if _, err := ParseFormat(string(format)); err != nil {
		return Job{}, err
	}
	f.Page, f.Limit = 0, 0
	f = f.WithDefaults()
	if err := f.Validate(); err != nil {
		return Job{}, err
	}
	f.Page, f.Limit = 0, 0
	pending, err := e.jobs.CountExportJobs(ctx, tenant, logstore.JobProcessing)
	if err != nil {
		return Job{}, fmt.Errorf("logexport: count jobs: %w", err)
	}
	if pending >= e.opts.MaxPending {
		return Job{}, fmt.Errorf("logexport: tenant has %d exports in progress, at most %d are allowed: %w",
			pending, e.opts.MaxPending, logs.ErrRateLimited)
	}
	snap, err := e.store.Snapshot(ctx)
	if err != nil {
		return Job{}, fmt.Errorf("logexport: snapshot: %w", err)
	}
	n, err := e.store.Count(ctx, tenant, f, snap)
	if err != nil {
		return Job{}, fmt.Errorf("logexport: count: %w", err)
	}
	now := e.now().UTC().Truncate(time.Microsecond)
	id := "exp-" + uuid.NewString()
	row := logstore.ExportJob{
		ID: id, TenantID: tenant, Format: string(format), Filter: f, Snapshot: snap,
		Status:           logstore.JobProcessing,
		EstimatedRecords: n,
		BlobKey:          blobKey(tenant, id, format),
		CreatedAt:        now,
		DeadlineAt:       now.Add(e.opts.Deadline),
	}
	if err := e.jobs.InsertExportJob(ctx, row); err != nil {
		return Job{}, fmt.Errorf("logexport: insert job: %w", err)
	}
	e.signal()
	return view(&row), nil
}

// blobKey is where the file of job id lives.
func blobKey(tenant, id string, f Format) string {
	return "tenants/" + tenant + "/logs/" + id + "." + string(f)
}

// validID reports whether id can be an export id, so that malformed ids
// never reach the database.
func validID(id string) bool {
	rest, ok := strings.CutPrefix(id, "exp-")
	if !ok || len(rest) != 36 {
		return false
	}
	_, err := uuid.Parse(rest)
	return err == nil
}

// Get returns tenant's job id. An unknown id, a malformed one and one of
// another tenant are all logs.ErrNotFound. A ready job comes with a freshly
// signed DownloadURL.
func (e *Exporter) Get(ctx context.Context, tenant, id string) (Job, error) {
	notFound := fmt.Errorf("logexport: export %q: %w", clip(id), logs.ErrNotFound)
	if !validID(id) || logs.ValidateTenant("tenantId", tenant) != nil {
		return Job{}, notFound
	}
	row, err := e.jobs.ExportJob(ctx, tenant, id)
	if logs.Code(err) == logs.CodeNotFound {
		return Job{}, notFound
	}
	if err != nil {
		return Job{}, fmt.Errorf("logexport: load job: %w", err)
	}
	j := view(&row)
	if j.Status != StatusReady {
		return j, nil
	}
	now := e.now()
	left := j.FileExpiresAt.Sub(now)
	if left <= time.Second {
		// The janitor has not deleted it yet; report what it is.
		j.Status = StatusExpired
		return j, nil
	}
	expiry := min(e.opts.URLExpiry, left)
	u, err := e.sign(ctx, row.BlobKey, expiry)
	if err != nil {
		return Job{}, err
	}
	j.DownloadURL = u
	// Signers count whole seconds from their own clock; never promise more.
	j.ExpiresAt = now.Add(expiry).Truncate(time.Second).UTC()
	return j, nil
}

func (e *Exporter) sign(ctx context.Context, key string, expiry time.Duration) (string, error) {
	if e.opts.Signer != nil {
		u, err := e.opts.Signer.URLFromKey(ctx, key, &driver.SignedURLOptions{Expiry: expiry, Method: http.MethodGet})
		if err != nil {
			return "", fmt.Errorf("logexport: sign: %w: %w", logs.ErrInternal, err)
		}
		return u.String(), nil
	}
	u, err := e.bucket.SignedURL(ctx, key, &blob.SignedURLOptions{Expiry: expiry})
	if err != nil {
		return "", fmt.Errorf("logexport: sign: %w: %w", bucketCode(err), err)
	}
	return u, nil
}

// bucketCode maps a blob error to the service's error codes.
func bucketCode(err error) error {
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return logs.ErrNotFound
	case gcerrors.Canceled, gcerrors.DeadlineExceeded, gcerrors.ResourceExhausted, gcerrors.Unknown:
		return logs.ErrUnavailable
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return logs.ErrUnavailable
	}
	return logs.ErrInternal
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// signal wakes one idle worker of this process, without blocking.
func (e *Exporter) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}
