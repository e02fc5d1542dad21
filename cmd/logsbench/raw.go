package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// rawSchema is the plain table a log service would start from: the tenant's
// id and the level as text, jsonb metadata, a primary key, and an index for
// each kind of list (time, level, source) plus a trigram index for search.
var rawSchema = []string{
	`CREATE EXTENSION IF NOT EXISTS pg_trgm`,
	`CREATE EXTENSION IF NOT EXISTS btree_gin`,
	`CREATE TABLE entries (
		id         uuid        NOT NULL,
		tenant_id  text        NOT NULL,
		level      text        NOT NULL,
		source     text        NOT NULL,
		message    text        NOT NULL,
		metadata   jsonb       NOT NULL,
		created_at timestamptz NOT NULL,
		PRIMARY KEY (tenant_id, id))`,
	`CREATE INDEX entries_time ON entries (tenant_id, created_at DESC, id DESC)`,
	`CREATE INDEX entries_level ON entries (tenant_id, level, created_at DESC, id DESC)`,
	`CREATE INDEX entries_source ON entries (tenant_id, source, created_at DESC, id DESC)`,
	`CREATE INDEX entries_search ON entries USING gin (tenant_id, lower(message) gin_trgm_ops)`,
}

var rawColumns = []string{"id", "tenant_id", "level", "source", "message", "metadata", "created_at"}

// raw is the raw SQL side.
type raw struct{ pool *pgxpool.Pool }

func openRaw(ctx context.Context, dsn string, conns int) (*raw, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(conns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	for _, q := range rawSchema {
		if _, err := pool.Exec(ctx, q); err != nil {
			pool.Close()
			return nil, fmt.Errorf("raw schema: %w", err)
		}
	}
	return &raw{pool: pool}, nil
}

func (r *raw) close() { r.pool.Close() }

func (r *raw) copy(ctx context.Context, b []entry) error {
	_, err := r.pool.CopyFrom(ctx, pgx.Identifier{"entries"}, rawColumns, pgx.CopyFromSlice(len(b), func(i int) ([]any, error) {
		e := &b[i]
		return []any{e.id, tenantID(e.tenant), e.level, e.source, e.message, e.metadata, e.createdAt}, nil
	}))
	return err
}

func (r *raw) vacuum(ctx context.Context) error {
	_, err := r.pool.Exec(ctx, "VACUUM (ANALYZE) entries")
	return err
}

func (r *raw) diskBytes(ctx context.Context) (int64, error) {
	var n int64
	err := r.pool.QueryRow(ctx, "SELECT pg_total_relation_size('entries')").Scan(&n)
	return n, err
}

// insertOne inserts one entry in its own transaction, into a tenant of its
// own (so that the lists do not change).
func (r *raw) insertOne(ctx context.Context, n int64) error {
	var id [16]byte
	now := time.Now()
	binary.BigEndian.PutUint64(id[0:8], uint64(now.UnixMilli())<<16|0x7000)
	binary.BigEndian.PutUint64(id[8:16], uint64(n)|0x8000000000000000)
	_, err := r.pool.Exec(ctx, `INSERT INTO entries (id, tenant_id, level, source, message, metadata, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, ingestTenant, "info", "auth", fmt.Sprintf("User u%d signed in from 10.0.0.1", n), `{"ip":"10.0.0.1"}`, now)
	return err
}

// rawFilter is a list's WHERE clause and its arguments after the tenant ($1).
type rawFilter struct {
	where string
	args  []any
}

const rawSelect = `SELECT id, tenant_id, level, source, message, metadata, created_at FROM entries WHERE tenant_id = $1`

// page reads one page of 50 (after offset rows) and returns the last row's key.
func (r *raw) page(ctx context.Context, tenant string, f rawFilter, offset int) (time.Time, [16]byte, error) {
	q := rawSelect + f.where + " ORDER BY created_at DESC, id DESC LIMIT 50"
	if offset > 0 {
		q += fmt.Sprintf(" OFFSET %d", offset)
	}
	return r.readPage(ctx, q, append([]any{tenant}, f.args...))
}

// pageAfter reads the page of 50 after the key (keyset paging).
func (r *raw) pageAfter(ctx context.Context, tenant string, at time.Time, id [16]byte) error {
	_, _, err := r.readPage(ctx, rawSelect+" AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT 50", []any{tenant, at, id})
	return err
}

func (r *raw) readPage(ctx context.Context, q string, args []any) (time.Time, [16]byte, error) {
	rows, err := r.pool.Query(ctx, q, args...)
	if err != nil {
		return time.Time{}, [16]byte{}, err
	}
	defer rows.Close()
	var (
		id                             [16]byte
		tenant, level, source, message string
		metadata                       []byte
		at                             time.Time
	)
	for rows.Next() {
		if err := rows.Scan(&id, &tenant, &level, &source, &message, &metadata, &at); err != nil {
			return time.Time{}, id, err
		}
	}
	return at, id, rows.Err()
}

func (r *raw) count(ctx context.Context, tenant string, f rawFilter) (int64, error) {
	var n int64
	err := r.pool.QueryRow(ctx, "SELECT count(*) FROM entries WHERE tenant_id = $1"+f.where, append([]any{tenant}, f.args...)...).Scan(&n)
	return n, err
}

// stats counts by day, level and source since start, as a chart needs.
func (r *raw) stats(ctx context.Context, tenant string, start time.Time) (int64, error) {
	rows, err := r.pool.Query(ctx, `SELECT date_trunc('day', created_at AT TIME ZONE 'UTC'), level, source, count(*)
		FROM entries WHERE tenant_id = $1 AND created_at >= $2 GROUP BY 1, 2, 3`, tenant, start)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var total int64
	for rows.Next() {
		var (
			day           time.Time
			level, source string
			n             int64
		)
		if err := rows.Scan(&day, &level, &source, &n); err != nil {
			return 0, err
		}
		total += n
	}
	return total, rows.Err()
}

// export copies a tenant's entries newest first out as CSV or JSON lines
// into io.Discard and returns the rows.
func (r *raw) export(ctx context.Context, tenant, format string) (int64, error) {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	lit := "'" + tenant + "'" // tenant ids are ours: letters, digits and dashes; COPY takes no parameters
	var q string
	if format == "csv" {
		q = `COPY (SELECT id, tenant_id, level, source, message, metadata, created_at FROM entries WHERE tenant_id = ` + lit +
			` ORDER BY created_at DESC, id DESC) TO STDOUT WITH (FORMAT csv, HEADER)`
	} else {
		q = `COPY (SELECT json_build_object('id', id, 'tenantId', tenant_id, 'level', level, 'source', source, 'message', message,
			'metadata', metadata, 'createdAt', created_at) FROM entries WHERE tenant_id = ` + lit +
			` ORDER BY created_at DESC, id DESC) TO STDOUT`
	}
	tag, err := conn.Conn().PgConn().CopyTo(ctx, io.Discard, q)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
