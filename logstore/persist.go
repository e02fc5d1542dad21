package logstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
)

// This file declares the persistence that the packages beside the store
// need, each as a small interface that the store's implementations
// (bunstore) implement beside Store and that storetest proves. A package
// that needs one takes it as an argument; none of them holds SQL.
//
// The methods follow one convention: times are UTC with microsecond
// precision; "owner" is the opaque id a worker claimed a row with, and an
// update that names an owner changes the row only while that owner still
// holds it, reporting with false when it does not (the lease was lost);
// database failures wrap logs.ErrUnavailable or logs.ErrInternal. All
// methods are safe for concurrent use, also by several processes sharing
// one database.

// ExportJob is the stored state of one export job (logexport's jobs).
type ExportJob struct {
	ID       string // "exp-" and a UUID
	TenantID string
	Format   string // csv, json, ndjson
	Filter   logquery.Filter
	Snapshot Snapshot // what the export holds: the entries visible at submission

	// Status is "processing", "ready", "failed" or "expired".
	Status           string
	EstimatedRecords int64
	Records          int64  // entries written: so far while processing, all of them once ready
	BlobKey          string // where the file lives in the bucket
	Reason           string // why it failed, or why the last attempt did: text for the client
	Attempts         int    // claims so far

	LeaseOwner string    // the worker that holds it; "" for none
	LeaseUntil time.Time // the lease's end; zero for none. No claim before it.

	CreatedAt     time.Time
	DeadlineAt    time.Time // it fails when not done by then
	FinishedAt    time.Time // zero while processing
	FileExpiresAt time.Time // when the file is deleted; zero unless ready
}

// The export job states the store knows of.
const (
	JobProcessing = "processing"
	JobReady      = "ready"
	JobFailed     = "failed"
	JobExpired    = "expired"
)

// ExportJobs keeps export jobs.
type ExportJobs interface {
	// InsertExportJob stores a new job. An id that exists is an error
	// wrapping logs.ErrConflict.
	InsertExportJob(ctx context.Context, j ExportJob) error

	// ExportJob returns tenant's job id, or an error wrapping
	// logs.ErrNotFound when tenant has no such job (another tenant's job
	// is not found either).
	ExportJob(ctx context.Context, tenant, id string) (ExportJob, error)

	// CountExportJobs returns the number of tenant's jobs in status.
	CountExportJobs(ctx context.Context, tenant, status string) (int, error)

	// ClaimExportJob gives owner the oldest job that is processing, not
	// leased at now, has had fewer than maxAttempts claims and is before
	// its deadline: it sets the lease until leaseUntil, counts the attempt
	// and returns the job as claimed. Of concurrent claims, each job goes
	// to one owner. It returns nil when there is no such job.
	ClaimExportJob(ctx context.Context, owner string, now, leaseUntil time.Time, maxAttempts int) (*ExportJob, error)

	// RenewExportJob extends owner's lease on a processing job and
	// records how many entries its file holds so far (its progress).
	RenewExportJob(ctx context.Context, id, owner string, leaseUntil time.Time, records int64) (bool, error)

	// CompleteExportJob marks owner's processing job ready with its record
	// count, finished at finished, its file kept until fileExpires; the
	// lease and reason are cleared.
	CompleteExportJob(ctx context.Context, id, owner string, records int64, finished, fileExpires time.Time) (bool, error)

	// FailExportJob marks owner's processing job failed with reason.
	FailExportJob(ctx context.Context, id, owner, reason string, finished time.Time) (bool, error)

	// ReleaseExportJob gives owner's processing job back, claimable again
	// from notBefore, with reason as the last attempt's; the attempt counts
	// when countAttempt is set (a failure), not otherwise (a shutdown).
	ReleaseExportJob(ctx context.Context, id, owner, reason string, notBefore time.Time, countAttempt bool) (bool, error)

	// FailAbandonedExportJobs fails the processing jobs that no lease holds
	// at now and that are out of attempts (reason attemptsReason) or past
	// their deadline (reason deadlineReason), and returns them as failed.
	FailAbandonedExportJobs(ctx context.Context, now time.Time, maxAttempts int, deadlineReason, attemptsReason string) ([]ExportJob, error)

	// DueExportFiles returns up to limit ready jobs whose file expired at
	// now, the earliest first.
	DueExportFiles(ctx context.Context, now time.Time, limit int) ([]ExportJob, error)

	// ExpireExportJob marks a ready job expired (its file is deleted).
	ExpireExportJob(ctx context.Context, id string) error

	// DeleteExportJobs forgets the jobs that failed, or whose file
	// expired, before before, and returns how many.
	DeleteExportJobs(ctx context.Context, before time.Time) (int64, error)
}

// ErrSpent is the error of [TicketLedger.SpendTicket] for a ticket spent
// before.
var ErrSpent = fmt.Errorf("logstore: the ticket was spent already: %w", logs.ErrConflict)

// TicketLedger remembers which single-use stream tickets were spent.
type TicketLedger interface {
	// SpendTicket records id as spent, to be remembered at least until
	// expires. Of calls with one id, concurrent or not, in any process
	// sharing the ledger, one succeeds; the others return an error
	// wrapping ErrSpent.
	SpendTicket(ctx context.Context, id string, expires time.Time) error
}
