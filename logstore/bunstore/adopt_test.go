package bunstore_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstore/bunstore"
)

// TestAdoptEarlierSchema: a database made by logsd before bun/migrate
// (testdata/schema-v0-*.sql, the statements of that version) with entries,
// an export job and a spent ticket is taken over by Open without losing or
// changing any of them.
func TestAdoptEarlierSchema(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			url := testdb.URL(t, backend)
			raw := rawDB(t, backend, url)
			schema, err := os.ReadFile("testdata/schema-v0-" + map[string]string{"sqlite": "sqlite", "postgres": "pg"}[backend] + ".sql")
			require.NoError(t, err)
			_, err = raw.ExecContext(ctx, string(schema))
			require.NoError(t, err)

			at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			old := []logs.Entry{
				{ID: "0190f7a0-3b1c-7d2e-8f00-1a2b3c4d5e01", TenantID: "acme", Level: logs.LevelError, Source: "auth",
					Message: "Failed login attempt", Metadata: map[string]any{"ip": "102.45.67.89"}, CreatedAt: at},
				{ID: "0190f7a0-3b1c-7d2e-8f00-1a2b3c4d5e02", TenantID: "acme", Level: logs.LevelInfo, Source: "admin",
					Message: "User created", Metadata: map[string]any{}, CreatedAt: at.Add(time.Minute)},
				{ID: "0190f7a0-3b1c-7d2e-8f00-1a2b3c4d5e03", TenantID: "other", Level: logs.LevelWarn, Source: "idp",
					Message: "Token expired", Metadata: map[string]any{"n": 1}, CreatedAt: at.Add(2 * time.Minute)},
			}
			for _, e := range old {
				md, err := logs.EncodeMetadata(e.Metadata)
				require.NoError(t, err)
				var created any = e.CreatedAt
				q := `INSERT INTO log_entries (tenant_id, id, created_at, level, source, message, message_fold, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
				if backend == "sqlite" {
					created = e.CreatedAt.UnixMicro()
					q = strings.NewReplacer("$1", "?", "$2", "?", "$3", "?", "$4", "?", "$5", "?", "$6", "?", "$7", "?", "$8", "?").Replace(q)
				}
				_, err = raw.ExecContext(ctx, q, e.TenantID, e.ID, created, string(e.Level), e.Source, e.Message, strings.ToLower(e.Message), string(md))
				require.NoError(t, err)
			}
			ph := func(q string) string {
				if backend == "sqlite" {
					return q
				}
				for i := 1; strings.Contains(q, "?"); i++ {
					q = strings.Replace(q, "?", "$"+string(rune('0'+i)), 1)
				}
				return q
			}
			_, err = raw.ExecContext(ctx, ph(`INSERT INTO log_export_jobs (id, tenant_id, format, filter, snapshot, status, estimated_records, records, blob_key, created_at, deadline_at, finished_at, file_expires_at)
				VALUES (?, 'acme', 'csv', '{"level":"error"}', 'snap', 'ready', 1, 1, 'tenants/acme/logs/x.csv', ?, ?, ?, ?)`),
				"exp-0b6f2a4e-8c1d-4c5e-9f3a-2d1e0c9b8a7f", at.UnixMicro(), at.Add(15*time.Minute).UnixMicro(), at.Add(time.Minute).UnixMicro(), at.Add(24*time.Hour).UnixMicro())
			require.NoError(t, err)
			_, err = raw.ExecContext(ctx, ph(`INSERT INTO logstream_tickets (id, expires_at) VALUES ('spent-ticket', ?)`), time.Now().Add(time.Hour).UnixMilli())
			require.NoError(t, err)
			require.NoError(t, raw.Close())

			for range 2 { // adopted, then opened as a current database
				s, err := bunstore.Open(ctx, url, nil)
				require.NoError(t, err)
				current, err := s.SchemaCurrent(ctx)
				require.NoError(t, err)
				assert.True(t, current)

				page, err := s.Query(ctx, "acme", logquery.Filter{End: at.Add(30 * time.Minute)})
				require.NoError(t, err)
				require.EqualValues(t, 2, page.Total)
				for i, e := range []logs.Entry{old[1], old[0]} {
					got := page.Entries[i]
					assert.Equal(t, e.ID, got.ID)
					assert.Equal(t, e.Message, got.Message)
					assert.True(t, e.CreatedAt.Equal(got.CreatedAt))
					assert.Equal(t, mustJSON(t, e.Metadata), mustJSON(t, got.Metadata))
				}
				recs, err := s.After(ctx, "", logstore.Cursor{}, 100)
				require.NoError(t, err)
				require.GreaterOrEqual(t, len(recs), 3, "the old entries keep their cursors")
				for i := 1; i < len(recs); i++ {
					assert.True(t, recs[i-1].Cursor.Less(recs[i].Cursor))
				}

				j, err := s.ExportJob(ctx, "acme", "exp-0b6f2a4e-8c1d-4c5e-9f3a-2d1e0c9b8a7f")
				require.NoError(t, err)
				assert.Equal(t, logstore.JobReady, j.Status)
				assert.Equal(t, logs.LevelError, j.Filter.Level)
				assert.ErrorIs(t, s.SpendTicket(ctx, "spent-ticket", time.Now().Add(time.Hour)), logstore.ErrSpent)

				// New entries go into the old partition and new ones; the guards hold.
				_, err = s.Append(ctx, "acme", []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: "after", CreatedAt: at.Add(time.Hour)}, {Level: logs.LevelInfo, Source: "s", Message: "now"}})
				require.NoError(t, err)
				_, err = s.DB().ExecContext(ctx, "UPDATE log_entries SET message = 'x'")
				require.ErrorContains(t, err, "immutable")
				var n int
				q := "SELECT count(*) FROM sqlite_master WHERE name = 'log_schema_migrations'"
				if backend == "postgres" {
					q = "SELECT count(*) FROM pg_class WHERE relname = 'log_schema_migrations'"
				}
				require.NoError(t, s.DB().QueryRowContext(ctx, q).Scan(&n))
				assert.Zero(t, n, "the old bookkeeping is gone")
				require.NoError(t, s.Close())
			}
		})
	}
}

func rawDB(t *testing.T, backend, url string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if backend == "sqlite" {
		db, err = sql.Open(sqliteshim.ShimName, "file:"+strings.TrimPrefix(url, "sqlite://"))
	} else {
		db, err = sql.Open("pgx", url)
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := logs.EncodeMetadata(v.(map[string]any))
	require.NoError(t, err)
	return string(b)
}
