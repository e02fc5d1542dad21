package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
)

// The log table keeps a tenant as a small integer (log_tenants.key) rather
// than its id (up to 128 bytes, a UUID in the API document's examples):
// four bytes in every row and in every index of the table instead of
// dozens. The mapping never changes once made; the store keeps it in
// memory. The other tables, small, keep the tenant's id.

// tenantKey returns the key of tenant, reading log_tenants through db when
// this process does not know it yet; ok is false when the tenant has no
// key (it never wrote: it has no entries).
func (s *Store) tenantKey(ctx context.Context, db bun.IDB, tenant string) (int64, bool, error) {
	if k, ok := s.keys.Load(tenant); ok {
		return k.(int64), true, nil
	}
	var k int64
	err := db.QueryRowContext(ctx, "SELECT key FROM log_tenants WHERE id = ?", tenant).Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, s.wrap("tenant", err)
	}
	s.remember(tenant, k)
	return k, true, nil
}

// ensureTenantKey returns the key of tenant, making one when it has none.
func (s *Store) ensureTenantKey(ctx context.Context, db bun.IDB, tenant string) (int64, error) {
	if k, ok, err := s.tenantKey(ctx, db, tenant); err != nil || ok {
		return k, err
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO log_tenants (id) VALUES (?) ON CONFLICT (id) DO NOTHING", tenant); err != nil {
		return 0, s.wrap("tenant", err)
	}
	k, ok, err := s.tenantKey(ctx, db, tenant)
	if err == nil && !ok {
		err = fmt.Errorf("bunstore: tenant %q has no key after its insert: %w", tenant, logs.ErrInternal)
	}
	return k, err
}

// tenantName returns the id of the tenant of key.
func (s *Store) tenantName(ctx context.Context, db bun.IDB, key int64) (string, error) {
	if t, ok := s.names.Load(key); ok {
		return t.(string), nil
	}
	var t string
	if err := db.QueryRowContext(ctx, "SELECT id FROM log_tenants WHERE key = ?", key).Scan(&t); err != nil {
		return "", s.wrap("tenant", err)
	}
	s.remember(t, key)
	return t, nil
}

func (s *Store) remember(tenant string, key int64) {
	s.keys.Store(tenant, key)
	s.names.Store(key, tenant)
}

// The levels as the log table keeps them: 0, 1, 2 (a partial index holds
// the entries above info, the ones people filter for).
var levelCodes = map[logs.Level]int{logs.LevelInfo: 0, logs.LevelWarn: 1, logs.LevelError: 2}

var levelNames = []logs.Level{logs.LevelInfo, logs.LevelWarn, logs.LevelError}

func levelName(code int) (logs.Level, error) {
	if code < 0 || code >= len(levelNames) {
		return "", fmt.Errorf("bunstore: level %d: %w", code, logs.ErrInternal)
	}
	return levelNames[code], nil
}

// storedFold is what the message_fold column keeps for message: nothing
// (NULL) when the search's folding (logquery.Fold) equals the ASCII lower
// case of message, which the database computes itself (lower(message
// COLLATE "C") on PostgreSQL, lower(message) on SQLite: both fold ASCII
// only) — almost always; else the folded message.
func storedFold(message string) any {
	fold := logquery.Fold(message)
	if fold == asciiLower(message) {
		return nil
	}
	return fold
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// foldExpr is the folded message in SQL: the search compares it with the
// folded terms, and the trigram index is on it.
func (s *Store) foldExpr() string {
	if s.pg {
		return `coalesce(message_fold, lower(message COLLATE "C"))`
	}
	return "coalesce(message_fold, lower(message))"
}

// idAtTime reports whether id is a UUIDv7 of created's millisecond: then
// (PostgreSQL) the entry is found by id through the time index, and the
// index of ids (partial, NOT id_at_time) does not hold it. The ids the
// store makes, and those the client library makes, are all of this kind.
func idAtTime(id string, created time.Time) bool {
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return false
	}
	sec, nsec := u.Time().UnixTime()
	return time.Unix(sec, nsec).UnixMilli() == created.UnixMilli()
}
