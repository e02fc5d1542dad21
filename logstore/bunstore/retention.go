package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

var _ logstore.Settings = (*Store)(nil)

const day = 24 * time.Hour

// RetentionPolicy implements logstore.Settings.
func (s *Store) RetentionPolicy() logstore.RetentionPolicy {
	p := logstore.RetentionPolicy{Default: max(s.opts.Retention, 0), Max: max(s.opts.MaxRetention, 0)}
	if s.opts.MaxRetention == 0 {
		p.Max = p.Default // no tenant keeps longer than the default unless the operator allows it
	}
	return p
}

// TenantSettings implements logstore.Settings.
func (s *Store) TenantSettings(ctx context.Context, tenant string) (logstore.TenantSettings, error) {
	var st logstore.TenantSettings
	err := s.db.QueryRowContext(ctx, "SELECT retention_days FROM log_tenant_settings WHERE tenant_id = ?", tenant).Scan(&st.RetentionDays)
	if errors.Is(err, sql.ErrNoRows) {
		return logstore.TenantSettings{}, nil
	}
	return st, s.wrap("tenant settings", err)
}

// SetTenantSettings implements logstore.Settings.
func (s *Store) SetTenantSettings(ctx context.Context, tenant string, st logstore.TenantSettings) error {
	if err := logs.ValidateTenant("tenantId", tenant); err != nil {
		return err
	}
	p := s.RetentionPolicy()
	maxDays := int(p.Max / day)
	switch {
	case st.RetentionDays < 0:
		return logs.Invalid("retentionDays", "must be a whole number of days from 1, or 0 (or null) for the default")
	case p.Max > 0 && st.RetentionDays > maxDays:
		return logs.Invalid("retentionDays", "must be at most %d: the longest this server keeps entries", maxDays)
	case st.RetentionDays > 100*365:
		return logs.Invalid("retentionDays", "must be at most %d", 100*365)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO log_tenant_settings (tenant_id, retention_days, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET retention_days = excluded.retention_days, updated_at = excluded.updated_at`,
		tenant, st.RetentionDays, s.opts.Now().UnixMicro())
	return s.wrap("set tenant settings", err)
}

// keep is the retention of a tenant that set days (0: none): the days, at
// most the policy's Max, else the Default (0: forever).
func (s *Store) keep(days int) time.Duration {
	p := s.RetentionPolicy()
	if days <= 0 {
		return p.Default
	}
	k := time.Duration(days) * day
	if p.Max > 0 && k > p.Max {
		k = p.Max
	}
	return k
}

// Retention implements logstore.Settings.
func (s *Store) Retention(ctx context.Context, tenant string) (time.Duration, error) {
	st, err := s.TenantSettings(ctx, tenant)
	if err != nil {
		return 0, err
	}
	return s.keep(st.RetentionDays), nil
}

// cutoff returns the oldest createdAt that tenant's reads and appends see
// now: its retention's (zero for forever), and never before what a purge
// removed. It reads the settings through db, in the caller's snapshot.
func (s *Store) cutoff(ctx context.Context, db bun.IDB, tenant string) (time.Time, error) {
	var days int
	var purged int64
	err := db.QueryRowContext(ctx, `SELECT
		coalesce((SELECT retention_days FROM log_tenant_settings WHERE tenant_id = ?), 0),
		coalesce((SELECT max(before) FROM log_purges WHERE tenant_id IN ('', ?)), 0)`, tenant, tenant).Scan(&days, &purged)
	if err != nil {
		return time.Time{}, s.wrap("retention", err)
	}
	var c time.Time
	if k := s.keep(days); k > 0 {
		c = s.opts.Now().Add(-k).UTC().Truncate(time.Microsecond)
	}
	if purged > 0 && (c.IsZero() || c.Before(time.UnixMicro(purged))) {
		c = time.UnixMicro(purged).UTC()
	}
	return c, nil
}

// clamp restricts f to what tenant's retention keeps at cutoff c; none
// reports that nothing of f is kept.
func clamp(f logquery.Filter, c time.Time) (g logquery.Filter, none bool) {
	if c.IsZero() || !f.Start.IsZero() && !f.Start.Before(c) {
		return f, false
	}
	if !f.End.IsZero() && f.End.Before(c) {
		return f, true
	}
	f.Start = c
	return f, false
}

// retained returns f clamped to tenant's retention, reading it through db.
func (s *Store) retained(ctx context.Context, db bun.IDB, tenant string, f logquery.Filter) (logquery.Filter, bool, error) {
	c, err := s.cutoff(ctx, db, tenant)
	if err != nil {
		return f, false, err
	}
	g, none := clamp(f, c)
	return g, none, nil
}

// PurgeExpired implements logstore.Settings: the partitions (PostgreSQL) or
// days (SQLite) that every tenant's retention lets go are removed whole;
// then, for each tenant whose retention is shorter, its entries of the
// whole days past its retention, a day per transaction.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) (int64, error) {
	p := s.RetentionPolicy()
	longest := p.Default // 0: some tenant keeps forever
	own := map[string]time.Duration{}
	rows, err := s.admin.QueryContext(ctx, "SELECT tenant_id, retention_days FROM log_tenant_settings WHERE retention_days > 0")
	if err != nil {
		return 0, s.wrap("purge", err)
	}
	for rows.Next() {
		var t string
		var days int
		if err := rows.Scan(&t, &days); err != nil {
			rows.Close()
			return 0, s.wrap("purge", err)
		}
		own[t] = s.keep(days)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.wrap("purge", err)
	}
	for _, k := range own {
		if longest > 0 && k > longest {
			longest = k
		}
	}
	var total int64
	if longest > 0 {
		n, err := s.Purge(ctx, now.Add(-longest))
		total += max(n, 0)
		if err != nil {
			return total, err
		}
	}
	// The tenants that keep less than the longest: those with a shorter
	// setting, and when the default is shorter, every other tenant that
	// has older entries.
	shorter := map[string]time.Duration{}
	for t, k := range own {
		if longest == 0 || k < longest {
			shorter[t] = k
		}
	}
	if p.Default > 0 && (longest == 0 || p.Default < longest) {
		rows, err := s.admin.QueryContext(ctx, "SELECT DISTINCT tenant_id FROM log_counts_day WHERE bucket < ?", now.Add(-p.Default).UnixMicro())
		if err != nil {
			return total, s.wrap("purge", err)
		}
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				rows.Close()
				return total, s.wrap("purge", err)
			}
			if _, ok := own[t]; !ok {
				shorter[t] = p.Default
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, s.wrap("purge", err)
		}
	}
	for t, k := range shorter {
		n, err := s.purgeTenant(ctx, t, startOfDay(now.Add(-k)))
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// purgeTenant deletes tenant's entries before boundary (a day's start),
// oldest day first, a day per transaction, with their rollups.
func (s *Store) purgeTenant(ctx context.Context, tenant string, boundary time.Time) (int64, error) {
	key, ok, err := s.tenantKey(ctx, s.admin, tenant)
	if err != nil || !ok {
		return 0, err
	}
	var oldest sql.NullInt64
	q := "SELECT min(created_at) FROM log_entries WHERE tenant = ?"
	if s.pg {
		q = "SELECT (extract(epoch FROM min(created_at)) * 1000000)::bigint FROM log_entries WHERE tenant = ?"
	}
	if err := s.admin.QueryRowContext(ctx, q, key).Scan(&oldest); err != nil {
		return 0, s.wrap("purge "+tenant, err)
	}
	if !oldest.Valid || !time.UnixMicro(oldest.Int64).Before(boundary) {
		return 0, nil
	}
	var total int64
	for d := startOfDay(time.UnixMicro(oldest.Int64)); d.Before(boundary); d = d.Add(day) {
		end := d.Add(day)
		var n int64
		err := s.admin.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if s.pg {
				if _, err := tx.ExecContext(ctx, "SET LOCAL logs.purge = 'on'"); err != nil {
					return err
				}
			} else if _, err := tx.ExecContext(ctx, "DROP TRIGGER IF EXISTS log_entries_no_delete"); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, "DELETE FROM log_entries WHERE tenant = ? AND created_at < ?", key, s.timeArg(end))
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			if !s.pg {
				if _, err := tx.ExecContext(ctx, sqliteNoDelete); err != nil {
					return err
				}
			}
			return s.purgeRollups(ctx, tx, tenant, end)
		})
		if err != nil {
			return total, s.wrap("purge "+tenant, err)
		}
		total += n
	}
	return total, nil
}

// ingestCutoffs returns the cutoff of each tenant of the group, read in
// the group's transaction.
func (s *Store) ingestCutoffs(ctx context.Context, tx bun.Tx, group []*pending) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for _, p := range group {
		if _, ok := out[p.tenant]; ok {
			continue
		}
		c, err := s.cutoff(ctx, tx, p.tenant)
		if err != nil {
			return nil, err
		}
		out[p.tenant] = c
	}
	return out, nil
}

// tooOld is the refusal of an entry older than its tenant keeps.
func tooOld(i int, c time.Time) error {
	return logs.Invalid(fmt.Sprintf("logs[%d].createdAt", i),
		"is older than the tenant's retention keeps entries (from %s)", logs.FormatTime(c))
}
