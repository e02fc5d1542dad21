package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/testdb"
)

func TestDataset(t *testing.T) {
	d := &dataset{n: 20_000, tenants: 50, seed: 7, end: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	levels := map[string]int{}
	sources := map[string]int{}
	tenants := map[int]int{}
	var prev time.Time
	emails := 0
	for i := range d.n {
		e := d.entry(i)
		levels[e.level]++
		sources[e.source]++
		tenants[e.tenant]++
		require.False(t, e.createdAt.Before(d.end.Add(-span)) || e.createdAt.After(d.end), "entry %d at %s", i, e.createdAt)
		require.False(t, e.createdAt.Before(prev.Add(-time.Second)), "entry %d goes back in time", i)
		prev = e.createdAt
		if strings.Contains(e.message, "@") {
			emails++
		}
		require.Contains(t, e.metadata, `"ip":`)
	}
	assert.Greater(t, emails, d.n/2, "most messages name a user by email")
	assert.Equal(t, d.entry(123), d.entry(123), "the same seed makes the same entry")
	other := &dataset{n: d.n, tenants: d.tenants, seed: 8, end: d.end}
	assert.NotEqual(t, d.entry(123).message, other.entry(123).message)
	share := func(n int) float64 { return float64(n) / float64(d.n) }
	assert.InDelta(t, 0.80, share(levels["info"]), 0.02)
	assert.InDelta(t, 0.15, share(levels["warn"]), 0.02)
	assert.InDelta(t, 0.05, share(levels["error"]), 0.01)
	assert.InDelta(t, 0.40, share(tenants[0]), 0.02)
	assert.Len(t, sources, 8)
	assert.Len(t, tenants, 50)
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"defaults", nil, ""},
		{"parts", []string{"-parts", "list,stats"}, ""},
		{"unknown part", []string{"-parts", "list,lists"}, `unknown part "lists"`},
		{"tiny n", []string{"-n", "10"}, "-n"},
		{"argument", []string{"extra"}, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseArgs(tc.args, io.Discard, io.Discard)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.True(t, c.Parts["list"])
		})
	}
}

// cancelOn cancels when a progress line holds the word.
type cancelOn struct {
	word   string
	cancel context.CancelFunc
}

func (w cancelOn) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte(w.word)) {
		w.cancel()
	}
	return len(b), nil
}

func postgres(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	admin := testdb.AdminURL()
	conn, err := pgx.Connect(context.Background(), admin)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is required here (CI): %v", err)
		}
		t.Skipf("PostgreSQL not reachable at %s: %v", admin, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return admin, conn
}

func assertDropped(t *testing.T, conn *pgx.Conn, rep *report) {
	t.Helper()
	require.NotNil(t, rep)
	require.Len(t, rep.databases, 2)
	for _, name := range rep.databases {
		require.True(t, strings.HasPrefix(name, dbPrefix))
		var n int
		require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n))
		assert.Zero(t, n, "database %s is dropped", name)
	}
}

// TestRunCancelled stops a run while it loads, as Ctrl-C does: the
// databases are dropped all the same.
func TestRunCancelled(t *testing.T) {
	admin, conn := postgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := parseArgs([]string{"-n", "200000", "-postgres", admin}, io.Discard, cancelOn{"into the raw table", cancel})
	require.NoError(t, err)
	rep, err := run(ctx, c)
	require.ErrorIs(t, err, context.Canceled)
	assertDropped(t, conn, rep)
}

// TestRun runs the whole benchmark at a tiny size against real PostgreSQL
// and a real logsd: every line of the table is there, and the scratch
// databases are gone afterwards. The figures themselves are not checked.
func TestRun(t *testing.T) {
	admin, conn := postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	var out, progress bytes.Buffer
	c, err := parseArgs([]string{"-n", "2000", "-tenants", "4", "-postgres", admin, "-reps", "2", "-clients", "8",
		"-ingest-time", "300ms", "-streams", "12", "-stream-rate", "50", "-stream-time", "1s", "-json", "-"}, &out, &progress)
	require.NoError(t, err)
	rep, err := run(ctx, c)
	require.NoError(t, err, "progress:\n%s", progress.String())

	table, _, _ := strings.Cut(out.String(), "{")
	for _, work := range []string{
		"ingest, batches of 1000 from 4 clients", "disk per entry", "page + total, no filter", "page + total, level=error",
		"page + total, source=mfa + last 7 days", "page + total, search password", "page + total, search quarantined",
		"by page", "by cursor", "stats over 90 days", "export csv", "export json",
		"ingest, one entry per request from 8 clients", "stream latency, 12 streams",
	} {
		assert.True(t, strings.Contains(table, "| "+work) || strings.Contains(table, work+" ("), "the table has a line for %s", work)
	}
	assert.Len(t, rep.Rows, 14)
	for _, r := range rep.Rows {
		assert.NotEmpty(t, r.Ratio, "the line %q has a ratio", r.Work)
	}
	assert.Contains(t, out.String(), `"rows": [`, "the JSON follows the table")
	assertDropped(t, conn, rep)
}
