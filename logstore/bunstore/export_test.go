package bunstore

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/ithbat/logs/logquery"
)

// TotalAndCount returns, from one statement (one snapshot), the total the
// list answers for f (no search) and a direct count of the same entries.
func TotalAndCount(ctx context.Context, s *Store, tenant string, f logquery.Filter) (total, direct int64, err error) {
	key, ok, err := s.tenantKey(ctx, s.db, tenant)
	if err != nil || !ok {
		return 0, 0, err
	}
	where, wargs, err := s.where(key, f, "")
	if err != nil {
		return 0, 0, err
	}
	err = s.inSnapshot(ctx, true, func(ctx context.Context, db bun.IDB) error {
		cp, err := s.rollupMark(ctx, db)
		if err != nil {
			return err
		}
		tq, targs := s.totalSQL(tenantRef{id: tenant, key: key}, f, cp)
		q := "SELECT (" + tq + "), (SELECT count(*) FROM log_entries WHERE " + where + ")"
		return db.QueryRowContext(ctx, q, append(targs, wargs...)...).Scan(&total, &direct)
	})
	return total, direct, err
}
