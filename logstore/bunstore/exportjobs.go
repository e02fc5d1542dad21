package bunstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

// Export jobs live in log_export_jobs. Times are microseconds since the
// Unix epoch (0 for none), the filter is logquery.Raw as JSON.

// jobRow is one row of log_export_jobs.
type jobRow struct {
	ID               string `bun:"id,pk"`
	TenantID         string `bun:"tenant_id"`
	Format           string `bun:"format"`
	Filter           string `bun:"filter"`
	Snapshot         string `bun:"snapshot"`
	Status           string `bun:"status"`
	EstimatedRecords int64  `bun:"estimated_records"`
	Records          int64  `bun:"records"`
	BlobKey          string `bun:"blob_key"`
	Reason           string `bun:"reason"`
	Attempts         int    `bun:"attempts"`
	LeaseOwner       string `bun:"lease_owner"`
	LeaseUntil       int64  `bun:"lease_until"`
	CreatedAt        int64  `bun:"created_at"`
	DeadlineAt       int64  `bun:"deadline_at"`
	FinishedAt       int64  `bun:"finished_at"`
	FileExpiresAt    int64  `bun:"file_expires_at"`
}

const jobColumns = `id, tenant_id, format, filter, snapshot, status, estimated_records, records, blob_key, reason,
	attempts, lease_owner, lease_until, created_at, deadline_at, finished_at, file_expires_at`

func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromUS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func (r *jobRow) job() (logstore.ExportJob, error) {
	var raw logquery.Raw
	if err := json.Unmarshal([]byte(r.Filter), &raw); err != nil {
		return logstore.ExportJob{}, fmt.Errorf("bunstore: export job %s: filter: %w: %w", r.ID, logs.ErrInternal, err)
	}
	f, err := raw.Filter()
	if err != nil {
		return logstore.ExportJob{}, fmt.Errorf("bunstore: export job %s: filter: %w: %w", r.ID, logs.ErrInternal, err)
	}
	f.Page, f.Limit = 0, 0
	return logstore.ExportJob{
		ID: r.ID, TenantID: r.TenantID, Format: r.Format, Filter: f, Snapshot: logstore.Snapshot(r.Snapshot),
		Status: r.Status, EstimatedRecords: r.EstimatedRecords, Records: r.Records, BlobKey: r.BlobKey,
		Reason: r.Reason, Attempts: r.Attempts, LeaseOwner: r.LeaseOwner, LeaseUntil: fromUS(r.LeaseUntil),
		CreatedAt: fromUS(r.CreatedAt), DeadlineAt: fromUS(r.DeadlineAt), FinishedAt: fromUS(r.FinishedAt),
		FileExpiresAt: fromUS(r.FileExpiresAt),
	}, nil
}

func (s *Store) jobs(rows []jobRow) ([]logstore.ExportJob, error) {
	out := make([]logstore.ExportJob, 0, len(rows))
	for i := range rows {
		j, err := rows[i].job()
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// InsertExportJob implements logstore.ExportJobs.
func (s *Store) InsertExportJob(ctx context.Context, j logstore.ExportJob) error {
	filter, err := json.Marshal(j.Filter.Raw())
	if err != nil {
		return fmt.Errorf("bunstore: export job: filter: %w: %w", logs.ErrInternal, err)
	}
	r := jobRow{
		ID: j.ID, TenantID: j.TenantID, Format: j.Format, Filter: string(filter), Snapshot: string(j.Snapshot),
		Status: j.Status, EstimatedRecords: j.EstimatedRecords, Records: j.Records, BlobKey: j.BlobKey,
		Reason: j.Reason, Attempts: j.Attempts, LeaseOwner: j.LeaseOwner, LeaseUntil: us(j.LeaseUntil),
		CreatedAt: us(j.CreatedAt), DeadlineAt: us(j.DeadlineAt), FinishedAt: us(j.FinishedAt), FileExpiresAt: us(j.FileExpiresAt),
	}
	_, err = s.db.NewInsert().Model(&r).ModelTableExpr("log_export_jobs").Exec(ctx)
	return s.wrap("insert export job", err)
}

// ExportJob implements logstore.ExportJobs.
func (s *Store) ExportJob(ctx context.Context, tenant, id string) (logstore.ExportJob, error) {
	var r jobRow
	err := s.db.NewRaw("SELECT "+jobColumns+" FROM log_export_jobs WHERE id = ? AND tenant_id = ?", id, tenant).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return logstore.ExportJob{}, fmt.Errorf("bunstore: export job %.64q: %w", id, logs.ErrNotFound)
	}
	if err != nil {
		return logstore.ExportJob{}, s.wrap("load export job", err)
	}
	return r.job()
}

// CountExportJobs implements logstore.ExportJobs.
func (s *Store) CountExportJobs(ctx context.Context, tenant, status string) (int, error) {
	var n int
	err := s.db.NewRaw("SELECT count(*) FROM log_export_jobs WHERE tenant_id = ? AND status = ?", tenant, status).Scan(ctx, &n)
	return n, s.wrap("count export jobs", err)
}

// ClaimExportJob implements logstore.ExportJobs: FOR UPDATE SKIP LOCKED on
// PostgreSQL; on SQLite, one conditional UPDATE (one writer at a time).
func (s *Store) ClaimExportJob(ctx context.Context, owner string, now, leaseUntil time.Time, maxAttempts int) (*logstore.ExportJob, error) {
	lock := ""
	if s.pg {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	q := `UPDATE log_export_jobs SET lease_owner = ?, lease_until = ?, attempts = attempts + 1, records = 0
		WHERE id = (SELECT id FROM log_export_jobs
			WHERE status = ? AND lease_until < ? AND attempts < ? AND deadline_at > ?
			ORDER BY created_at LIMIT 1` + lock + `)
		RETURNING ` + jobColumns
	var r jobRow
	err := s.db.NewRaw(q, owner, us(leaseUntil), logstore.JobProcessing, us(now), maxAttempts, us(now)).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap("claim export job", err)
	}
	j, err := r.job()
	if err != nil {
		return nil, err
	}
	return &j, nil
}

// update runs an UPDATE of owner's processing job id and reports whether
// it changed the row.
func (s *Store) updateJob(ctx context.Context, op, set string, id, owner string, args ...any) (bool, error) {
	args = append(args, id, owner, logstore.JobProcessing)
	res, err := s.db.NewRaw("UPDATE log_export_jobs SET "+set+" WHERE id = ? AND lease_owner = ? AND status = ?", args...).Exec(ctx)
	if err != nil {
		return false, s.wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.wrap(op, err)
	}
	return n > 0, nil
}

// RenewExportJob implements logstore.ExportJobs.
func (s *Store) RenewExportJob(ctx context.Context, id, owner string, leaseUntil time.Time, records int64) (bool, error) {
	return s.updateJob(ctx, "renew export job", "lease_until = ?, records = ?", id, owner, us(leaseUntil), records)
}

// CompleteExportJob implements logstore.ExportJobs.
func (s *Store) CompleteExportJob(ctx context.Context, id, owner string, records int64, finished, fileExpires time.Time) (bool, error) {
	return s.updateJob(ctx, "complete export job",
		"status = ?, records = ?, finished_at = ?, file_expires_at = ?, lease_owner = '', lease_until = 0, reason = ''",
		id, owner, logstore.JobReady, records, us(finished), us(fileExpires))
}

// FailExportJob implements logstore.ExportJobs.
func (s *Store) FailExportJob(ctx context.Context, id, owner, reason string, finished time.Time) (bool, error) {
	return s.updateJob(ctx, "fail export job", "status = ?, reason = ?, finished_at = ?, lease_owner = '', lease_until = 0",
		id, owner, logstore.JobFailed, reason, us(finished))
}

// ReleaseExportJob implements logstore.ExportJobs.
func (s *Store) ReleaseExportJob(ctx context.Context, id, owner, reason string, notBefore time.Time, countAttempt bool) (bool, error) {
	undo := 1
	if countAttempt {
		undo = 0
	}
	return s.updateJob(ctx, "release export job", "lease_owner = '', lease_until = ?, attempts = attempts - ?, reason = ?",
		id, owner, us(notBefore), undo, reason)
}

// FailAbandonedExportJobs implements logstore.ExportJobs.
func (s *Store) FailAbandonedExportJobs(ctx context.Context, now time.Time, maxAttempts int, deadlineReason, attemptsReason string) ([]logstore.ExportJob, error) {
	var rows []jobRow
	err := s.db.NewRaw(`UPDATE log_export_jobs
		SET status = ?, finished_at = ?, lease_owner = '', lease_until = 0,
			reason = CASE WHEN deadline_at <= ? THEN ? ELSE ? END
		WHERE status = ? AND lease_until < ? AND (attempts >= ? OR deadline_at <= ?)
		RETURNING `+jobColumns,
		logstore.JobFailed, us(now), us(now), deadlineReason, attemptsReason,
		logstore.JobProcessing, us(now), maxAttempts, us(now)).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, s.wrap("fail abandoned export jobs", err)
	}
	return s.jobs(rows)
}

// DueExportFiles implements logstore.ExportJobs.
func (s *Store) DueExportFiles(ctx context.Context, now time.Time, limit int) ([]logstore.ExportJob, error) {
	var rows []jobRow
	err := s.db.NewRaw("SELECT "+jobColumns+` FROM log_export_jobs
		WHERE status = ? AND file_expires_at <= ? ORDER BY file_expires_at LIMIT ?`,
		logstore.JobReady, us(now), limit).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, s.wrap("due export files", err)
	}
	return s.jobs(rows)
}

// ExpireExportJob implements logstore.ExportJobs.
func (s *Store) ExpireExportJob(ctx context.Context, id string) error {
	_, err := s.db.NewRaw("UPDATE log_export_jobs SET status = ? WHERE id = ? AND status = ?",
		logstore.JobExpired, id, logstore.JobReady).Exec(ctx)
	return s.wrap("expire export job", err)
}

// DeleteExportJobs implements logstore.ExportJobs.
func (s *Store) DeleteExportJobs(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.NewRaw(`DELETE FROM log_export_jobs
		WHERE (status = ? AND finished_at < ?) OR (status = ? AND file_expires_at < ?)`,
		logstore.JobFailed, us(before), logstore.JobExpired, us(before)).Exec(ctx)
	if err != nil {
		return 0, s.wrap("delete export jobs", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
