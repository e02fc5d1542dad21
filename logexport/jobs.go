package logexport

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

// Table is the name of the job table in the store's database.
const Table = "log_export_jobs"

// jobRow is one row of the job table. Times are microseconds since the Unix
// epoch (UTC), 0 for none: one portable type on PostgreSQL and SQLite.
type jobRow struct {
	bun.BaseModel `bun:"table:log_export_jobs"`

	ID               string `bun:"id,pk"`
	TenantID         string `bun:"tenant_id"`
	Format           string `bun:"format"`
	Filter           string `bun:"filter"` // logquery.Raw as JSON
	Snapshot         string `bun:"snapshot"`
	Status           string `bun:"status"`
	EstimatedRecords int64  `bun:"estimated_records"`
	Records          int64  `bun:"records"`
	BlobKey          string `bun:"blob_key"`
	Reason           string `bun:"reason"` // why it failed (client-safe text)
	Attempts         int    `bun:"attempts"`
	LeaseOwner       string `bun:"lease_owner"`
	LeaseUntil       int64  `bun:"lease_until"`
	CreatedAt        int64  `bun:"created_at"`
	DeadlineAt       int64  `bun:"deadline_at"`
	FinishedAt       int64  `bun:"finished_at"`
	FileExpiresAt    int64  `bun:"file_expires_at"`
}

const columns = `id, tenant_id, format, filter, snapshot, status, estimated_records, records, blob_key, reason,
	attempts, lease_owner, lease_until, created_at, deadline_at, finished_at, file_expires_at`

var migrations = []string{
	`CREATE TABLE IF NOT EXISTS log_export_jobs (
		id                TEXT PRIMARY KEY,
		tenant_id         TEXT NOT NULL,
		format            TEXT NOT NULL,
		filter            TEXT NOT NULL,
		snapshot          TEXT NOT NULL,
		status            TEXT NOT NULL,
		estimated_records BIGINT NOT NULL DEFAULT 0,
		records           BIGINT NOT NULL DEFAULT 0,
		blob_key          TEXT NOT NULL,
		reason            TEXT NOT NULL DEFAULT '',
		attempts          INTEGER NOT NULL DEFAULT 0,
		lease_owner       TEXT NOT NULL DEFAULT '',
		lease_until       BIGINT NOT NULL DEFAULT 0,
		created_at        BIGINT NOT NULL,
		deadline_at       BIGINT NOT NULL,
		finished_at       BIGINT NOT NULL DEFAULT 0,
		file_expires_at   BIGINT NOT NULL DEFAULT 0
	)`,
	`CREATE INDEX IF NOT EXISTS log_export_jobs_status_idx ON log_export_jobs (status, created_at)`,
	`CREATE INDEX IF NOT EXISTS log_export_jobs_tenant_idx ON log_export_jobs (tenant_id, status)`,
}

// migrateLockKey serialises concurrent migrations of several processes on
// PostgreSQL (pg_advisory_xact_lock).
const migrateLockKey = 0x6c6f67657870 // "logexp"

// Migrate creates the job table and its indexes if they are missing. It is
// idempotent and safe to run from several processes at once.
func (e *Exporter) Migrate(ctx context.Context) error { return Migrate(ctx, e.db) }

// Migrate creates the job table of db (the store's database) and its
// indexes if they are missing, as Exporter.Migrate does, for tools that
// migrate without running exports (logsd migrate).
func Migrate(ctx context.Context, db *bun.DB) error {
	pg := db.Dialect().Name() == dialect.PG
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if pg {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", migrateLockKey); err != nil {
				return err
			}
		}
		for _, m := range migrations {
			if _, err := tx.ExecContext(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("logexport: migrate: %w", dbErr(err))
	}
	return nil
}

// dbErr wraps a database error with its category.
func dbErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", logs.ErrUnavailable, err)
	}
	if logs.Code(err) != logs.CodeInternal {
		return err
	}
	return fmt.Errorf("%w: %w", logs.ErrUnavailable, err)
}

func (r *jobRow) job() (Job, error) {
	var raw logquery.Raw
	if err := json.Unmarshal([]byte(r.Filter), &raw); err != nil {
		return Job{}, fmt.Errorf("logexport: job %s: filter: %w: %w", r.ID, logs.ErrInternal, err)
	}
	f, err := raw.Filter()
	if err != nil {
		return Job{}, fmt.Errorf("logexport: job %s: filter: %w: %w", r.ID, logs.ErrInternal, err)
	}
	f.Page, f.Limit = 0, 0
	j := Job{
		ID: r.ID, TenantID: r.TenantID, Format: Format(r.Format), Filter: f, Status: Status(r.Status),
		EstimatedRecords: r.EstimatedRecords, Records: r.Records, Attempts: r.Attempts,
		CreatedAt: micro(r.CreatedAt), FinishedAt: micro(r.FinishedAt), FileExpiresAt: micro(r.FileExpiresAt),
	}
	if j.Status == StatusFailed {
		j.Error = r.Reason
	}
	return j, nil
}

func (r *jobRow) filter() (logquery.Filter, error) {
	j, err := r.job()
	return j.Filter, err
}

func (r *jobRow) snapshot() logstore.Snapshot { return logstore.Snapshot(r.Snapshot) }

// micro converts microseconds since the epoch to a UTC time; 0 is zero.
func micro(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func (e *Exporter) insert(ctx context.Context, r *jobRow) error {
	if _, err := e.db.NewInsert().Model(r).Exec(ctx); err != nil {
		return fmt.Errorf("logexport: insert job: %w", dbErr(err))
	}
	return nil
}

func (e *Exporter) load(ctx context.Context, tenant, id string) (*jobRow, error) {
	r := new(jobRow)
	err := e.db.NewRaw("SELECT "+columns+" FROM log_export_jobs WHERE id = ? AND tenant_id = ?", id, tenant).Scan(ctx, r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("logexport: load job: %w", dbErr(err))
	}
	return r, nil
}

func (e *Exporter) countPending(ctx context.Context, tenant string) (int, error) {
	var n int
	err := e.db.NewRaw("SELECT count(*) FROM log_export_jobs WHERE tenant_id = ? AND status = ?",
		tenant, string(StatusProcessing)).Scan(ctx, &n)
	if err != nil {
		return 0, fmt.Errorf("logexport: count jobs: %w", dbErr(err))
	}
	return n, nil
}

// claim takes the oldest runnable job for owner, with a lease until
// leaseUntil, and counts the attempt. It returns nil when there is none.
func (e *Exporter) claim(ctx context.Context, owner string, now time.Time) (*jobRow, error) {
	lock := ""
	if e.pg {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	q := `UPDATE log_export_jobs SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
		WHERE id = (SELECT id FROM log_export_jobs
			WHERE status = ? AND lease_until < ? AND attempts < ? AND deadline_at > ?
			ORDER BY created_at LIMIT 1` + lock + `)
		RETURNING ` + columns
	r := new(jobRow)
	us := now.UnixMicro()
	err := e.db.NewRaw(q, owner, now.Add(e.opts.Lease).UnixMicro(),
		string(StatusProcessing), us, e.opts.MaxAttempts, us).Scan(ctx, r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("logexport: claim: %w", dbErr(err))
	}
	return r, nil
}

// renew extends owner's lease on job id; false means the lease is lost.
func (e *Exporter) renew(ctx context.Context, id, owner string, until time.Time) (bool, error) {
	res, err := e.db.NewRaw(`UPDATE log_export_jobs SET lease_until = ?
		WHERE id = ? AND lease_owner = ? AND status = ?`,
		until.UnixMicro(), id, owner, string(StatusProcessing)).Exec(ctx)
	return affected(res, err)
}

func affected(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, dbErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbErr(err)
	}
	return n > 0, nil
}

// finishReady marks owner's job ready.
func (e *Exporter) finishReady(ctx context.Context, id, owner string, records int64, now time.Time) (bool, error) {
	res, err := e.db.NewRaw(`UPDATE log_export_jobs
		SET status = ?, records = ?, finished_at = ?, file_expires_at = ?, lease_owner = '', lease_until = 0, reason = ''
		WHERE id = ? AND lease_owner = ? AND status = ?`,
		string(StatusReady), records, now.UnixMicro(), now.Add(e.opts.Retention).UnixMicro(),
		id, owner, string(StatusProcessing)).Exec(ctx)
	return affected(res, err)
}

// finishFailed marks owner's job failed with a client-safe reason.
func (e *Exporter) finishFailed(ctx context.Context, id, owner, reason string, now time.Time) (bool, error) {
	res, err := e.db.NewRaw(`UPDATE log_export_jobs
		SET status = ?, reason = ?, finished_at = ?, lease_owner = '', lease_until = 0
		WHERE id = ? AND lease_owner = ? AND status = ?`,
		string(StatusFailed), reason, now.UnixMicro(), id, owner, string(StatusProcessing)).Exec(ctx)
	return affected(res, err)
}

// release gives owner's job back: retry after notBefore, with the attempt
// counted (a failure) or not (a shutdown).
func (e *Exporter) release(ctx context.Context, id, owner, reason string, notBefore time.Time, countAttempt bool) (bool, error) {
	undo := 1
	if countAttempt {
		undo = 0
	}
	res, err := e.db.NewRaw(`UPDATE log_export_jobs
		SET lease_owner = '', lease_until = ?, attempts = attempts - ?, reason = ?
		WHERE id = ? AND lease_owner = ? AND status = ?`,
		notBefore.UnixMicro(), undo, reason, id, owner, string(StatusProcessing)).Exec(ctx)
	return affected(res, err)
}

// failAbandoned fails the jobs nobody works on (lease expired) that are out
// of attempts or past their deadline, and returns their rows.
func (e *Exporter) failAbandoned(ctx context.Context, now time.Time) ([]jobRow, error) {
	us := now.UnixMicro()
	var rows []jobRow
	err := e.db.NewRaw(`UPDATE log_export_jobs
		SET status = ?, finished_at = ?, lease_owner = '', lease_until = 0,
			reason = CASE WHEN deadline_at <= ? THEN ? ELSE ? END
		WHERE status = ? AND lease_until < ? AND (attempts >= ? OR deadline_at <= ?)
		RETURNING `+columns,
		string(StatusFailed), us,
		us, e.deadlineReason(),
		fmt.Sprintf("the export was interrupted %d times (its worker stopped); giving up", e.opts.MaxAttempts),
		string(StatusProcessing), us, e.opts.MaxAttempts, us).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("logexport: fail abandoned jobs: %w", dbErr(err))
	}
	return rows, nil
}

// dueFiles returns up to limit ready jobs whose file is due for deletion.
func (e *Exporter) dueFiles(ctx context.Context, now time.Time, limit int) ([]jobRow, error) {
	var rows []jobRow
	err := e.db.NewRaw("SELECT "+columns+` FROM log_export_jobs
		WHERE status = ? AND file_expires_at <= ? ORDER BY file_expires_at LIMIT ?`,
		string(StatusReady), now.UnixMicro(), limit).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("logexport: due files: %w", dbErr(err))
	}
	return rows, nil
}

func (e *Exporter) markExpired(ctx context.Context, id string) error {
	_, err := e.db.NewRaw("UPDATE log_export_jobs SET status = ? WHERE id = ? AND status = ?",
		string(StatusExpired), id, string(StatusReady)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("logexport: mark expired: %w", dbErr(err))
	}
	return nil
}

// deleteOld deletes the rows of jobs that failed, or whose file expired,
// before the given time.
func (e *Exporter) deleteOld(ctx context.Context, before time.Time) (int64, error) {
	us := before.UnixMicro()
	res, err := e.db.NewRaw(`DELETE FROM log_export_jobs
		WHERE (status = ? AND finished_at < ?) OR (status = ? AND file_expires_at < ?)`,
		string(StatusFailed), us, string(StatusExpired), us).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("logexport: delete old jobs: %w", dbErr(err))
	}
	n, _ := res.RowsAffected()
	return n, nil
}
