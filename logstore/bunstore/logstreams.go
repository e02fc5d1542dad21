package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

// Log streams live in log_streams, keyed by (tenant_id, id). Times are
// microseconds since the Unix epoch (0 for none), the filter is
// logquery.Raw as JSON, the start cursor (start_epoch, start_seq), gzip 0
// or 1.

var _ logstore.LogStreams = (*Store)(nil)

type streamRow struct {
	TenantID       string `bun:"tenant_id"`
	ID             string `bun:"id"`
	Type           string `bun:"type"`
	URL            string `bun:"url"`
	Filter         string `bun:"filter"`
	StartDate      int64  `bun:"start_date"`
	StartEpoch     int64  `bun:"start_epoch"`
	StartSeq       int64  `bun:"start_seq"`
	BatchSize      int    `bun:"batch_size"`
	Format         string `bun:"format"`
	Gzip           int    `bun:"gzip"`
	Secret         string `bun:"secret"`
	PreviousSecret string `bun:"previous_secret"`
	PreviousUntil  int64  `bun:"previous_until"`
	Status         string `bun:"status"`
	Reason         string `bun:"reason"`
	Delivered      int64  `bun:"delivered"`
	LastError      string `bun:"last_error"`
	LastErrorAt    int64  `bun:"last_error_at"`
	LastSuccessAt  int64  `bun:"last_success_at"`
	FailingSince   int64  `bun:"failing_since"`
	CreatedAt      int64  `bun:"created_at"`
	UpdatedAt      int64  `bun:"updated_at"`
}

const streamColumns = `tenant_id, id, type, url, filter, start_date, start_epoch, start_seq, batch_size, format, gzip,
	secret, previous_secret, previous_until, status, reason, delivered, last_error, last_error_at, last_success_at,
	failing_since, created_at, updated_at`

func (r *streamRow) stream() (logstore.LogStream, error) {
	f, err := storedFilter("log stream", r.ID, r.Filter)
	if err != nil {
		return logstore.LogStream{}, err
	}
	return logstore.LogStream{
		ID: r.ID, TenantID: r.TenantID, Type: r.Type, URL: r.URL, Filter: f, StartDate: fromUS(r.StartDate),
		Start:     logstore.Cursor{Epoch: uint64(r.StartEpoch), Seq: r.StartSeq},
		BatchSize: r.BatchSize, Format: r.Format, Gzip: r.Gzip != 0,
		Secret: r.Secret, PreviousSecret: r.PreviousSecret, PreviousUntil: fromUS(r.PreviousUntil),
		Status: r.Status, Reason: r.Reason, Delivered: r.Delivered,
		LastError: r.LastError, LastErrorAt: fromUS(r.LastErrorAt), LastSuccessAt: fromUS(r.LastSuccessAt),
		FailingSince: fromUS(r.FailingSince), CreatedAt: fromUS(r.CreatedAt), UpdatedAt: fromUS(r.UpdatedAt),
	}, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// InsertLogStream implements logstore.LogStreams.
func (s *Store) InsertLogStream(ctx context.Context, ls logstore.LogStream) error {
	if ls.ID == "" || ls.TenantID == "" {
		return fmt.Errorf("bunstore: insert log stream: a tenant and an id are required: %w", errInvalid)
	}
	filter, err := filterJSON("log stream", ls.Filter)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, "INSERT INTO log_streams ("+streamColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ls.TenantID, ls.ID, ls.Type, ls.URL, filter, us(ls.StartDate), int64(ls.Start.Epoch), ls.Start.Seq,
		ls.BatchSize, ls.Format, b2i(ls.Gzip), ls.Secret, ls.PreviousSecret, us(ls.PreviousUntil),
		ls.Status, ls.Reason, ls.Delivered, ls.LastError, us(ls.LastErrorAt), us(ls.LastSuccessAt),
		us(ls.FailingSince), us(ls.CreatedAt), us(ls.UpdatedAt))
	return s.wrap("insert log stream", err)
}

func (s *Store) loadStream(ctx context.Context, db bun.IDB, tenant, id string) (logstore.LogStream, error) {
	var r streamRow
	err := db.NewRaw("SELECT "+streamColumns+" FROM log_streams WHERE tenant_id = ? AND id = ?", tenant, id).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return logstore.LogStream{}, fmt.Errorf("bunstore: log stream %.64q: %w", id, logs.ErrNotFound)
	}
	if err != nil {
		return logstore.LogStream{}, s.wrap("load log stream", err)
	}
	return r.stream()
}

// LogStream implements logstore.LogStreams.
func (s *Store) LogStream(ctx context.Context, tenant, id string) (logstore.LogStream, error) {
	return s.loadStream(ctx, s.db, tenant, id)
}

func (s *Store) streams(ctx context.Context, q string, args ...any) ([]logstore.LogStream, error) {
	var rows []streamRow
	err := s.db.NewRaw(q, args...).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, s.wrap("log streams", err)
	}
	out := make([]logstore.LogStream, 0, len(rows))
	for i := range rows {
		ls, err := rows[i].stream()
		if err != nil {
			return nil, err
		}
		out = append(out, ls)
	}
	return out, nil
}

// TenantLogStreams implements logstore.LogStreams.
func (s *Store) TenantLogStreams(ctx context.Context, tenant string) ([]logstore.LogStream, error) {
	return s.streams(ctx, "SELECT "+streamColumns+" FROM log_streams WHERE tenant_id = ? ORDER BY created_at, id", tenant)
}

// CountLogStreams implements logstore.LogStreams.
func (s *Store) CountLogStreams(ctx context.Context, tenant string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM log_streams WHERE tenant_id = ?", tenant).Scan(&n)
	return n, s.wrap("count log streams", err)
}

// AllLogStreams implements logstore.LogStreams.
func (s *Store) AllLogStreams(ctx context.Context) ([]logstore.LogStream, error) {
	return s.streams(ctx, "SELECT "+streamColumns+" FROM log_streams ORDER BY tenant_id, id")
}

// UpdateLogStream implements logstore.LogStreams.
func (s *Store) UpdateLogStream(ctx context.Context, ls logstore.LogStream) error {
	filter, err := filterJSON("log stream", ls.Filter)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE log_streams SET url = ?, filter = ?, batch_size = ?, gzip = ?,
		secret = ?, previous_secret = ?, previous_until = ?, status = ?, reason = ?, updated_at = ?,
		failing_since = CASE WHEN ? = 'active' THEN 0 ELSE failing_since END
		WHERE tenant_id = ? AND id = ?`,
		ls.URL, filter, ls.BatchSize, b2i(ls.Gzip), ls.Secret, ls.PreviousSecret, us(ls.PreviousUntil),
		ls.Status, ls.Reason, us(ls.UpdatedAt), ls.Status, ls.TenantID, ls.ID)
	return s.oneRow("update log stream", ls.ID, res, err)
}

func (s *Store) oneRow(op, id string, res sql.Result, err error) error {
	if err != nil {
		return s.wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap(op, err)
	}
	if n == 0 {
		return fmt.Errorf("bunstore: %s %.64q: %w", op, id, logs.ErrNotFound)
	}
	return nil
}

// DeleteLogStream implements logstore.LogStreams.
func (s *Store) DeleteLogStream(ctx context.Context, tenant, id string) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM log_streams WHERE tenant_id = ? AND id = ?", tenant, id)
	return s.oneRow("delete log stream", id, res, err)
}

// LogStreamFailed implements logstore.LogStreams: one UPDATE decides the
// status from the stored failing_since, so that replicas agree.
func (s *Store) LogStreamFailed(ctx context.Context, tenant, id, errText string, at time.Time, pauseAfter time.Duration, pauseReason string) (logstore.LogStream, error) {
	now := us(at)
	pause := pauseAfter.Microseconds()
	var out logstore.LogStream
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE log_streams SET last_error = ?, last_error_at = ?,
			status = CASE WHEN status = 'paused' THEN 'paused'
				WHEN failing_since > 0 AND ? - failing_since >= ? THEN 'paused' ELSE 'failing' END,
			reason = CASE WHEN status = 'paused' THEN reason
				WHEN failing_since > 0 AND ? - failing_since >= ? THEN ? ELSE reason END,
			failing_since = CASE WHEN failing_since = 0 THEN ? ELSE failing_since END
			WHERE tenant_id = ? AND id = ?`,
			errText, now, now, pause, now, pause, pauseReason, now, tenant, id)
		if err := s.oneRow("log stream failed", id, res, err); err != nil {
			return err
		}
		out, err = s.loadStream(ctx, tx, tenant, id)
		return err
	})
	if err != nil && logs.Code(err) == logs.CodeInternal {
		return out, s.wrap("log stream failed", err)
	}
	return out, err
}

// applyDelivered runs a LogStreamDelivered effect in a consumer's
// transaction.
func (s *Store) applyDelivered(ctx context.Context, tx bun.Tx, e logstore.LogStreamDelivered) error {
	if e.N <= 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE log_streams SET delivered = delivered + ?, last_success_at = ?, failing_since = 0,
		status = CASE WHEN status = 'failing' THEN 'active' ELSE status END
		WHERE tenant_id = ? AND id = ?`, e.N, us(e.At), e.Tenant, e.ID)
	return err
}
