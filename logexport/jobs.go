package logexport

import (
	"context"
	"fmt"
	"time"

	"github.com/ithbat/logs/logstore"
)

// The jobs live in the store's database, behind logstore.ExportJobs; this
// file turns the stored jobs into what the package hands out.

// view is the job as its tenant sees it.
func view(r *logstore.ExportJob) Job {
	j := Job{
		ID: r.ID, TenantID: r.TenantID, Format: Format(r.Format), Filter: r.Filter, Status: Status(r.Status),
		EstimatedRecords: r.EstimatedRecords, Records: r.Records, Attempts: r.Attempts,
		CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt, FileExpiresAt: r.FileExpiresAt,
	}
	if j.Status == StatusFailed {
		j.Error = r.Reason
	}
	return j
}

// attemptsReason is the failure reason of a job whose workers kept dying.
func (e *Exporter) attemptsReason() string {
	return fmt.Sprintf("the export was interrupted %d times (its worker stopped); giving up", e.opts.MaxAttempts)
}

// failAbandoned fails the jobs nobody works on (lease expired) that are out
// of attempts or past their deadline, and returns them.
func (e *Exporter) failAbandoned(ctx context.Context, now time.Time) ([]logstore.ExportJob, error) {
	jobs, err := e.jobs.FailAbandonedExportJobs(ctx, now, e.opts.MaxAttempts, e.deadlineReason(), e.attemptsReason())
	if err != nil {
		return nil, fmt.Errorf("logexport: fail abandoned jobs: %w", err)
	}
	return jobs, nil
}
