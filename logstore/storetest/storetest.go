// Package storetest is the conformance suite of logstore.Store: every
// implementation runs [Run] and passes it, on every database it supports.
//
// Each behaviour is a subtest with a fresh harness (a new, empty store), so
// subtests never see each other's entries.
package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

// Harness is one fresh store under test.
type Harness struct {
	Store logstore.Store
	// Exec runs a raw SQL statement against the store's database, for the
	// immutability checks. It must return the database's error.
	Exec func(ctx context.Context, query string) error
	// Dialect is "pg" or "sqlite": the statements of the immutability
	// checks that only one database has. Empty: only the common ones.
	Dialect string
	// Jobs and Tickets are the store's other interfaces (nil: not
	// tested).
	Jobs      logstore.ExportJobs
	Tickets   logstore.TicketLedger
	Consumers logstore.Consumers
	// Trees keeps the verifiable log (nil: not tested; it needs
	// Consumers too).
	Trees logstore.Trees
	// Settings, when set, keeps entries forever by default and lets a
	// tenant set any retention (the policy of the suite's stores).
	Settings logstore.Settings
	// Streams keeps log streams (nil: not tested).
	Streams logstore.LogStreams
}

// Run runs the conformance suite. newHarness must return a store on an
// empty database; the suite closes it. The behaviours run in parallel
// (t.Parallel), each on its own harness.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"AppendAssignsIDsAndTimes", testAppendAssigns},
		{"AppendValidatesAtomically", testAppendValidates},
		{"FiltersAloneAndCombined", testFilters},
		{"InclusiveBoundsAndBareDates", testBounds},
		{"Search", testSearch},
		{"PagingOverEqualTimestamps", testPaging},
		{"PagingAtDepth", testPagingAtDepth},
		{"TenantIsolation", testTenantIsolation},
		{"IdempotentRetry", testIdempotentRetry},
		{"ConcurrentRetries", testConcurrentRetries},
		{"ConflictingRetry", testConflictingRetry},
		{"Immutable", testImmutable},
		{"ConcurrentAppends", testConcurrentAppends},
		{"ScanAndSnapshot", testScanSnapshot},
		{"CursorsAfterAndHead", testAfter},
		{"Watch", testWatch},
		{"Purge", testPurge},
		{"MetadataRoundTrip", testMetadata},
		{"ExportJobs", testExportJobs},
		{"ExportJobClaims", testExportJobClaims},
		{"TicketLedger", testTicketLedger},
		{"ConsumerLeases", testConsumerLeases},
		{"TotalsFromRollups", testTotalsFromRollups},
		{"Stats", testStats},
		{"TenantRetention", testTenantRetention},
		{"LogStreams", testLogStreams},
		{"Trees", testTrees},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each behaviour has a database of its own
			h := newHarness(t)
			t.Cleanup(func() { _ = h.Store.Close() })
			tt.fn(t, h)
		})
	}
}

var base = time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func entry(level logs.Level, source, msg string, at time.Time) logs.Entry {
	return logs.Entry{Level: level, Source: source, Message: msg, CreatedAt: at}
}

func appendAll(t *testing.T, s logstore.Store, tenant string, es ...logs.Entry) []logs.Entry {
	t.Helper()
	out, err := s.Append(ctx(t), tenant, es)
	require.NoError(t, err)
	require.Len(t, out, len(es))
	return out
}

func ids(es []logs.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// newestFirst sorts entries as the store must: createdAt desc, id desc.
func newestFirst(es []logs.Entry) []logs.Entry {
	es = slices.Clone(es)
	slices.SortFunc(es, func(a, b logs.Entry) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return es
}

func all(t *testing.T, s logstore.Store, tenant string, f logquery.Filter) []logs.Entry {
	t.Helper()
	var out []logs.Entry
	for e, err := range s.Scan(ctx(t), tenant, f, "") {
		require.NoError(t, err)
		out = append(out, e)
	}
	return out
}

func testAppendAssigns(t *testing.T, h Harness) {
	before := time.Now().Add(-time.Second)
	out := appendAll(t, h.Store, "t1",
		logs.Entry{Level: logs.LevelInfo, Source: "auth", Message: "first"},
		logs.Entry{Level: logs.LevelWarn, Source: "auth", Message: "second", TenantID: "t1"})
	for _, e := range out {
		id, err := uuid.Parse(e.ID)
		require.NoError(t, err)
		assert.Equal(t, uuid.Version(7), id.Version(), "assigned ids are UUIDv7")
		assert.Equal(t, "t1", e.TenantID)
		assert.WithinRange(t, e.CreatedAt, before, time.Now().Add(time.Second))
		assert.Equal(t, time.UTC, e.CreatedAt.Location())
	}
	assert.Equal(t, "first", out[0].Message)
	assert.NotEqual(t, out[0].ID, out[1].ID)

	page, err := h.Store.Query(ctx(t), "t1", logquery.Filter{})
	require.NoError(t, err)
	assert.EqualValues(t, 2, page.Total)
	got := map[string]logs.Entry{}
	for _, e := range page.Entries {
		got[e.ID] = e
	}
	for _, e := range out {
		require.Contains(t, got, e.ID)
		assert.True(t, e.CreatedAt.Equal(got[e.ID].CreatedAt), "createdAt stored exactly (microseconds)")
		assert.Equal(t, e.Message, got[e.ID].Message)
	}

	// A writer-given UUIDv7 without createdAt takes its time from the id.
	v7 := uuid.Must(uuid.NewV7())
	out = appendAll(t, h.Store, "t1", logs.Entry{ID: strings.ToUpper(v7.String()), Level: logs.LevelInfo, Source: "s", Message: "m"})
	assert.Equal(t, v7.String(), out[0].ID, "ids are stored in canonical lower case")
	sec, nsec := v7.Time().UnixTime()
	assert.True(t, time.Unix(sec, nsec).Equal(out[0].CreatedAt))
}

func testAppendValidates(t *testing.T, h Harness) {
	good := entry(logs.LevelInfo, "auth", "ok", base)
	cases := []struct {
		name  string
		bad   logs.Entry
		field string
	}{
		{"missing level", logs.Entry{Source: "a", Message: "m"}, "logs[1].level"},
		{"unknown level", logs.Entry{Level: "debug", Source: "a", Message: "m"}, "logs[1].level"},
		{"missing source", logs.Entry{Level: logs.LevelInfo, Message: "m"}, "logs[1].source"},
		{"long source", logs.Entry{Level: logs.LevelInfo, Source: strings.Repeat("s", logs.MaxSourceLen+1), Message: "m"}, "logs[1].source"},
		{"missing message", logs.Entry{Level: logs.LevelInfo, Source: "a"}, "logs[1].message"},
		{"bad id", logs.Entry{ID: "not-a-uuid", Level: logs.LevelInfo, Source: "a", Message: "m"}, "logs[1].id"},
		{"other tenant", logs.Entry{TenantID: "t2", Level: logs.LevelInfo, Source: "a", Message: "m"}, "logs[1].tenantId"},
		{"far future", logs.Entry{Level: logs.LevelInfo, Source: "a", Message: "m", CreatedAt: time.Now().Add(48 * time.Hour)}, "logs[1].createdAt"},
		{"bad utf8", logs.Entry{Level: logs.LevelInfo, Source: "a", Message: "\xff"}, "logs[1].message"},
		{"NUL in message", logs.Entry{Level: logs.LevelInfo, Source: "a", Message: "m\x00"}, "logs[1].message"},
		{"NUL in source", logs.Entry{Level: logs.LevelInfo, Source: "a\x00", Message: "m"}, "logs[1].source"},
		{"metadata not JSON", logs.Entry{Level: logs.LevelInfo, Source: "a", Message: "m", Metadata: map[string]any{"f": func() {}}}, "logs[1].metadata"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.Store.Append(ctx(t), "t1", []logs.Entry{good, c.bad})
			require.ErrorIs(t, err, logs.ErrInvalid)
			assert.Equal(t, c.field, logs.FieldOf(err))
		})
	}
	_, err := h.Store.Append(ctx(t), "bad tenant!", []logs.Entry{good})
	require.ErrorIs(t, err, logs.ErrInvalid)
	page, err := h.Store.Query(ctx(t), "t1", logquery.Filter{})
	require.NoError(t, err)
	assert.Zero(t, page.Total, "a refused batch stores nothing")
}

// seed is a tenant's data set for the filter tests.
func seed(t *testing.T, s logstore.Store, tenant string) []logs.Entry {
	var es []logs.Entry
	levels := []logs.Level{logs.LevelInfo, logs.LevelWarn, logs.LevelError}
	sources := []string{"auth", "admin", "idp", "scim"}
	msgs := []string{"Failed login attempt — invalid credentials", "MFA verification failed — TOTP code expired",
		"User created", "Token refreshed for user", "SCIM sync finished: 100% done", "login OK"}
	for i := 0; i < 60; i++ {
		es = append(es, entry(levels[i%3], sources[i%4], msgs[i%len(msgs)], base.Add(time.Duration(i)*time.Hour)))
	}
	return appendAll(t, s, tenant, es...)
}

func testFilters(t *testing.T, h Harness) {
	stored := seed(t, h.Store, "t1")
	seed(t, h.Store, "t2")
	day := func(d int) time.Time { return base.Add(time.Duration(d) * 24 * time.Hour) }
	filters := []struct {
		name string
		f    logquery.Filter
		want int // hand-counted, so the suite does not only compare Match with itself
	}{
		{"none", logquery.Filter{}, 60},
		{"level", logquery.Filter{Level: logs.LevelError}, 20},
		{"source", logquery.Filter{Source: "idp"}, 15},
		{"unknown source", logquery.Filter{Source: "nope"}, 0},
		{"search", logquery.Filter{Search: "failed"}, 20},
		{"start", logquery.Filter{Start: day(1)}, 36},
		{"end", logquery.Filter{End: day(1)}, 25},
		{"range", logquery.Filter{Start: day(1), End: day(2)}, 25},
		{"level+source", logquery.Filter{Level: logs.LevelError, Source: "auth"}, 5},
		{"level+source+search+range", logquery.Filter{Level: logs.LevelInfo, Source: "auth", Search: "login", Start: day(0), End: day(2)}, 5},
	}
	for _, c := range filters {
		t.Run(c.name, func(t *testing.T) {
			var want []logs.Entry
			for _, e := range stored {
				if c.f.Match(e) {
					want = append(want, e)
				}
			}
			require.Len(t, want, c.want, "the hand count and Match disagree")
			want = newestFirst(want)
			f := c.f
			f.Limit = logquery.MaxLimit
			page, err := h.Store.Query(ctx(t), "t1", f)
			require.NoError(t, err)
			assert.EqualValues(t, c.want, page.Total)
			assert.Equal(t, ids(want), ids(page.Entries))
			assert.Equal(t, ids(want), ids(all(t, h.Store, "t1", c.f)))
			n, err := h.Store.Count(ctx(t), "t1", c.f, "")
			require.NoError(t, err)
			assert.EqualValues(t, c.want, n)
		})
	}
	_, err := h.Store.Query(ctx(t), "t1", logquery.Filter{Level: "debug"})
	require.ErrorIs(t, err, logs.ErrInvalid)
	assert.Equal(t, "level", logs.FieldOf(err))
	_, err = h.Store.Query(ctx(t), "t1", logquery.Filter{Search: "a\x00"})
	assert.Equal(t, "search", logs.FieldOf(err))
	_, err = h.Store.Count(ctx(t), "t1", logquery.Filter{Source: "\x00"}, "")
	assert.Equal(t, "source", logs.FieldOf(err))
}

func testBounds(t *testing.T, h Harness) {
	start, _ := logquery.ParseTime("startDate", "2026-03-19", false)
	end, _ := logquery.ParseTime("endDate", "2026-03-19", true)
	in := appendAll(t, h.Store, "t1",
		entry(logs.LevelInfo, "a", "first microsecond", start),
		entry(logs.LevelInfo, "a", "last microsecond", end),
		entry(logs.LevelInfo, "a", "noon", start.Add(12*time.Hour)))
	appendAll(t, h.Store, "t1",
		entry(logs.LevelInfo, "a", "day before", start.Add(-time.Microsecond)),
		entry(logs.LevelInfo, "a", "day after", end.Add(time.Microsecond)))
	page, err := h.Store.Query(ctx(t), "t1", logquery.Filter{Start: start, End: end})
	require.NoError(t, err)
	assert.ElementsMatch(t, ids(in), ids(page.Entries))
	exact, err := h.Store.Query(ctx(t), "t1", logquery.Filter{Start: in[2].CreatedAt, End: in[2].CreatedAt})
	require.NoError(t, err)
	assert.Equal(t, []string{in[2].ID}, ids(exact.Entries), "start = end = createdAt is inclusive")
}

func testSearch(t *testing.T, h Harness) {
	msgs := []string{
		"Failed login attempt — invalid credentials", // 0
		"FAILED LOGIN from 10.0.0.1",                 // 1
		"login failed",                               // 2
		"sync 100% done",                             // 3
		"sync 1000 done",                             // 4
		"user_name changed",                          // 5
		"username changed",                           // 6
		`path C:\temp\x written`,                     // 7
		`path C:temp written`,                        // 8
		"Über-admin ÉLEVATED rights",                 // 9
	}
	var es []logs.Entry
	for i, m := range msgs {
		es = append(es, entry(logs.LevelInfo, "s", m, base.Add(time.Duration(i)*time.Minute)))
	}
	stored := appendAll(t, h.Store, "t1", es...)
	cases := []struct {
		search string
		want   []int
	}{
		{"failed", []int{0, 1, 2}},
		{"FAILED login", []int{0, 1, 2}},
		{`"failed login"`, []int{0, 1}},
		{`"login failed"`, []int{2}},
		{`login "invalid credentials"`, []int{0}},
		{"100%", []int{3}},
		{"%", []int{3}},
		{"user_name", []int{5}},
		{"_", []int{5}},
		{`C:\temp`, []int{7}},
		{`\`, []int{7}},
		{"über élevated", []int{9}},
		{"nothing-like-this", nil},
		{`"unclosed phrase`, nil},
	}
	for _, c := range cases {
		t.Run(c.search, func(t *testing.T) {
			var want []string
			for _, i := range c.want {
				want = append(want, stored[i].ID)
			}
			f := logquery.Filter{Search: c.search}
			page, err := h.Store.Query(ctx(t), "t1", f)
			require.NoError(t, err)
			assert.ElementsMatch(t, want, ids(page.Entries))
			var matched []string
			for _, e := range stored {
				if f.Match(e) {
					matched = append(matched, e.ID)
				}
			}
			assert.ElementsMatch(t, want, matched, "Filter.Match agrees with the store")
		})
	}
}

func testPaging(t *testing.T, h Harness) {
	var es []logs.Entry
	for i := 0; i < 23; i++ {
		es = append(es, entry(logs.LevelInfo, "s", fmt.Sprint("same time ", i), base))
	}
	es = append(es, entry(logs.LevelInfo, "s", "later", base.Add(time.Second)), entry(logs.LevelInfo, "s", "earlier", base.Add(-time.Second)))
	stored := appendAll(t, h.Store, "t1", es...)
	want := ids(newestFirst(stored))
	var got []string
	for p := 1; ; p++ {
		page, err := h.Store.Query(ctx(t), "t1", logquery.Filter{Page: p, Limit: 4})
		require.NoError(t, err)
		assert.EqualValues(t, 25, page.Total)
		if len(page.Entries) == 0 {
			break
		}
		got = append(got, ids(page.Entries)...)
	}
	assert.Equal(t, want, got, "pages neither repeat nor skip, and ties are ordered by id")
	defaults, err := h.Store.Query(ctx(t), "t1", logquery.Filter{})
	require.NoError(t, err)
	assert.Len(t, defaults.Entries, 25)
}

func testTenantIsolation(t *testing.T, h Harness) {
	a := seed(t, h.Store, "tenant-a")
	b := seed(t, h.Store, "tenant-b")
	for tenant, own := range map[string][]logs.Entry{"tenant-a": a, "tenant-b": b} {
		page, err := h.Store.Query(ctx(t), tenant, logquery.Filter{Limit: 500})
		require.NoError(t, err)
		assert.ElementsMatch(t, ids(own), ids(page.Entries))
		for _, e := range page.Entries {
			assert.Equal(t, tenant, e.TenantID)
		}
		assert.ElementsMatch(t, ids(own), ids(all(t, h.Store, tenant, logquery.Filter{})))
		recs := after(t, h.Store, tenant, logstore.Cursor{}, 1000, len(own))
		for _, r := range recs {
			assert.Equal(t, tenant, r.Entry.TenantID)
		}
		assert.Len(t, recs, len(own))
	}
	// Writing b's id as tenant a creates a's own entry, it never touches b's.
	dup := b[0]
	dup.TenantID = ""
	dup.Message = "a's entry with b's id"
	appendAll(t, h.Store, "tenant-a", dup)
	page, err := h.Store.Query(ctx(t), "tenant-b", logquery.Filter{Search: "b's id"})
	require.NoError(t, err)
	assert.Zero(t, page.Total)
	page, err = h.Store.Query(ctx(t), "tenant-c", logquery.Filter{})
	require.NoError(t, err)
	assert.Zero(t, page.Total)
	assert.Empty(t, page.Entries)
}

func testIdempotentRetry(t *testing.T, h Harness) {
	batch := []logs.Entry{
		{ID: uuid.NewString(), Level: logs.LevelInfo, Source: "s", Message: "v4 id without time"},
		{ID: uuid.Must(uuid.NewV7()).String(), Level: logs.LevelInfo, Source: "s", Message: "v7 id without time"},
		{ID: uuid.NewString(), Level: logs.LevelInfo, Source: "s", Message: "with time", CreatedAt: base},
	}
	appendAll(t, h.Store, "t1", batch...)
	appendAll(t, h.Store, "t1", batch...)
	_, err := h.Store.Append(ctx(t), "t1", append(batch, batch[0]))
	require.NoError(t, err)
	page, err := h.Store.Query(ctx(t), "t1", logquery.Filter{})
	require.NoError(t, err)
	assert.EqualValues(t, 3, page.Total)
	assert.ElementsMatch(t, ids(batch), ids(page.Entries))
}

func testImmutable(t *testing.T, h Harness) {
	kept := appendAll(t, h.Store, "t1", entry(logs.LevelInfo, "s", "keep me", base))
	statements := []string{
		"UPDATE log_entries SET message = 'changed'",
		"DELETE FROM log_entries",
	}
	switch h.Dialect {
	case "sqlite":
		row := fmt.Sprintf(`(SELECT seq, tenant, created_at, id, level, source, 'changed', 'changed', metadata FROM log_entries WHERE id = '%s')`, kept[0].ID)
		statements = append(statements,
			"REPLACE INTO log_entries (seq, tenant, created_at, id, level, source, message, message_fold, metadata) SELECT * FROM "+row,
			"INSERT OR REPLACE INTO log_entries (seq, tenant, created_at, id, level, source, message, message_fold, metadata) SELECT * FROM "+row,
			fmt.Sprintf(`INSERT OR REPLACE INTO log_entries (tenant, created_at, id, level, source, message, message_fold, metadata)
				SELECT tenant, 0, id, 0, 's', 'changed', 'changed', '{}' FROM log_entries WHERE id = '%s'`, kept[0].ID),
			fmt.Sprintf(`INSERT INTO log_entries (tenant, created_at, id, level, source, message, message_fold, metadata)
				SELECT tenant, 0, id, 0, 's', 'changed', 'changed', '{}' FROM log_entries WHERE id = '%s' ON CONFLICT (tenant, id) DO UPDATE SET message = 'changed'`, kept[0].ID),
		)
	case "pg":
		statements = append(statements,
			"TRUNCATE log_entries",
			fmt.Sprintf(`MERGE INTO log_entries l USING (SELECT '%s'::uuid AS id) s ON l.id = s.id
				WHEN MATCHED THEN UPDATE SET message = 'changed'`, kept[0].ID),
			fmt.Sprintf(`MERGE INTO log_entries l USING (SELECT '%s'::uuid AS id) s ON l.id = s.id
				WHEN MATCHED THEN DELETE`, kept[0].ID),
		)
	}
	for _, q := range statements {
		err := h.Exec(ctx(t), q)
		require.Error(t, err, q)
		assert.Contains(t, err.Error(), "immutable")
	}
	page, err := h.Store.Query(ctx(t), "t1", logquery.Filter{})
	require.NoError(t, err)
	require.EqualValues(t, 1, page.Total)
	assert.Equal(t, "keep me", page.Entries[0].Message)
}

func testConcurrentAppends(t *testing.T, h Harness) {
	const writers, batches, size = 8, 10, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				var es []logs.Entry
				for i := 0; i < size; i++ {
					es = append(es, entry(logs.LevelInfo, "s", fmt.Sprintf("w%d b%d i%d", w, b, i), time.Time{}))
				}
				if _, err := h.Store.Append(context.Background(), "t1", es); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got := all(t, h.Store, "t1", logquery.Filter{})
	assert.Len(t, got, writers*batches*size)
	seen := map[string]bool{}
	for _, e := range got {
		assert.False(t, seen[e.ID], "duplicate id %s", e.ID)
		seen[e.ID] = true
	}
	recs := after(t, h.Store, "", logstore.Cursor{}, 10*writers*batches*size, writers*batches*size)
	assert.Len(t, recs, writers*batches*size)
	for i := 1; i < len(recs); i++ {
		assert.True(t, recs[i-1].Cursor.Less(recs[i].Cursor), "cursors strictly increase")
	}
}

func testScanSnapshot(t *testing.T, h Harness) {
	before := seed(t, h.Store, "t1")
	snap, err := h.Store.Snapshot(ctx(t))
	require.NoError(t, err)
	require.NotEmpty(t, snap)
	seed(t, h.Store, "t1") // after the snapshot
	f := logquery.Filter{Level: logs.LevelWarn}
	var want []logs.Entry
	for _, e := range before {
		if f.Match(e) {
			want = append(want, e)
		}
	}
	var got []string
	for e, err := range h.Store.Scan(ctx(t), "t1", f, snap) {
		require.NoError(t, err)
		got = append(got, e.ID)
	}
	assert.Equal(t, ids(newestFirst(want)), got)
	n, err := h.Store.Count(ctx(t), "t1", f, snap)
	require.NoError(t, err)
	assert.EqualValues(t, len(want), n)
	n, err = h.Store.Count(ctx(t), "t1", f, "")
	require.NoError(t, err)
	assert.EqualValues(t, 2*len(want), n)

	// Scan crosses its internal batches without repeat or skip.
	var many []logs.Entry
	for i := 0; i < 4500; i++ {
		many = append(many, entry(logs.LevelInfo, "bulk", "bulk", base.Add(time.Duration(i%7)*time.Second)))
	}
	stored := appendAll(t, h.Store, "bulk", many...)
	assert.Equal(t, ids(newestFirst(stored)), ids(all(t, h.Store, "bulk", logquery.Filter{})))

	for _, bad := range []logstore.Snapshot{"garbage", "pg:1:2:x", "sqlite:-1", "pg:1:2:3; DROP TABLE log_entries"} {
		_, err := h.Store.Count(ctx(t), "t1", f, bad)
		require.ErrorIs(t, err, logs.ErrInvalid, string(bad))
	}
	// Stopping early is fine, many times over, and leaves the store usable.
	for i := 0; i < 50; i++ {
		for range h.Store.Scan(ctx(t), "bulk", logquery.Filter{}, "") {
			break
		}
	}
	n, err = h.Store.Count(ctx(t), "bulk", logquery.Filter{}, "")
	require.NoError(t, err)
	assert.EqualValues(t, 4500, n)
}

// after calls Store.After until it returns at least want records. On
// PostgreSQL the watermark is cluster-wide: a transaction of another
// database (another test) can hold entries back for a moment.
func after(t *testing.T, s logstore.Store, tenant string, from logstore.Cursor, limit, want int) []logstore.Record {
	t.Helper()
	var recs []logstore.Record
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		recs, err = s.After(ctx(t), tenant, from, limit)
		require.NoError(t, err)
		if len(recs) >= want || time.Now().After(deadline) {
			return recs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testAfter(t *testing.T, h Harness) {
	head0, err := h.Store.Head(ctx(t))
	require.NoError(t, err)
	first := appendAll(t, h.Store, "t1", entry(logs.LevelInfo, "s", "one", base), entry(logs.LevelInfo, "s", "two", base.Add(-time.Hour)))
	appendAll(t, h.Store, "t2", entry(logs.LevelInfo, "s", "other tenant", base))
	recs := after(t, h.Store, "t1", head0, 100, 2)
	require.Len(t, recs, 2)
	assert.Equal(t, ids(first), []string{recs[0].Entry.ID, recs[1].Entry.ID}, "cursor order is append order, not createdAt order")
	head1, err := h.Store.Head(ctx(t))
	require.NoError(t, err)
	assert.False(t, head1.Less(head0))

	more := appendAll(t, h.Store, "t1", entry(logs.LevelError, "s", "three", base))
	recs2 := after(t, h.Store, "t1", recs[1].Cursor, 100, 1)
	require.Len(t, recs2, 1)
	assert.Equal(t, more[0].ID, recs2[0].Entry.ID)
	assert.True(t, recs[1].Cursor.Less(recs2[0].Cursor))

	everyone := after(t, h.Store, "", head0, 100, 4)
	assert.Len(t, everyone, 4)
	limited := after(t, h.Store, "", head0, 2, 2)
	assert.Len(t, limited, 2)

	c, err := logstore.ParseCursor(recs[0].Cursor.String())
	require.NoError(t, err)
	assert.Equal(t, recs[0].Cursor, c)
	for _, bad := range []string{"", "x", "1.", ".1", "zz.-1", "1.2.3", strings.Repeat("9", 40) + ".1"} {
		_, err := logstore.ParseCursor(bad)
		assert.ErrorIs(t, err, logs.ErrInvalid, bad)
	}
}

func testWatch(t *testing.T, h Harness) {
	wctx, cancel := context.WithCancel(ctx(t))
	ch := h.Store.Watch(wctx)
	// Drain a wake-up the watcher may get as it starts.
	select {
	case <-ch:
	case <-time.After(200 * time.Millisecond):
	}
	appendAll(t, h.Store, "t1", entry(logs.LevelInfo, "s", "wake", base))
	select {
	case _, ok := <-ch:
		require.True(t, ok)
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up after Append")
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			_, ok = <-ch
		}
		assert.False(t, ok, "the channel closes when ctx ends")
	case <-time.After(10 * time.Second):
		t.Fatal("channel not closed after cancel")
	}
}

func testPurge(t *testing.T, h Harness) {
	old := time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)
	appendAll(t, h.Store, "t1", entry(logs.LevelInfo, "s", "old", old), entry(logs.LevelInfo, "s", "old 2", old.Add(time.Hour)))
	keep := appendAll(t, h.Store, "t1", entry(logs.LevelInfo, "s", "new", base))
	if h.Consumers != nil {
		consumeRollups(t, h, 1000) // the purge removes their counts too
	}
	n, err := h.Store.Purge(ctx(t), time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.EqualValues(t, 2, n)
	page, err := h.Store.Query(ctx(t), "t1", logquery.Filter{})
	require.NoError(t, err)
	assert.Equal(t, ids(keep), ids(page.Entries))
	assert.EqualValues(t, 1, page.Total, "the total counts what is left")
	// The immutability guard is back after a purge.
	require.Error(t, h.Exec(ctx(t), "DELETE FROM log_entries"))
	// What the purge removed cannot come back (its counts are gone too);
	// after the purge's boundary entries are taken.
	_, err = h.Store.Append(ctx(t), "t1", []logs.Entry{entry(logs.LevelInfo, "s", "backfill", old)})
	require.ErrorIs(t, err, logs.ErrInvalid)
	assert.Equal(t, "logs[0].createdAt", logs.FieldOf(err))
	appendAll(t, h.Store, "t1", entry(logs.LevelInfo, "s", "after the boundary", time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)))
}

func testMetadata(t *testing.T, h Harness) {
	md := map[string]any{"nul": "a\x00b", "userId": "u1", "n": 12345678901234567, "f": 1.5, "ok": true, "nested": map[string]any{"a": []any{"x", nil}}}
	out := appendAll(t, h.Store, "t1", logs.Entry{Level: logs.LevelInfo, Source: "s", Message: "m", Metadata: md},
		logs.Entry{Level: logs.LevelInfo, Source: "s", Message: "no metadata"})
	page, err := h.Store.Query(ctx(t), "t1", logquery.Filter{})
	require.NoError(t, err)
	byID := map[string]logs.Entry{}
	for _, e := range page.Entries {
		byID[e.ID] = e
	}
	got := byID[out[0].ID]
	assert.JSONEq(t, mustJSON(t, md), mustJSON(t, got.Metadata), "metadata round-trips, big integers exactly")
	assert.NotNil(t, byID[out[1].ID].Metadata)
	assert.JSONEq(t, `{}`, mustJSON(t, byID[out[1].ID].Metadata))

	rs, ok := h.Store.(logstore.RawScanner)
	if !ok {
		return
	}
	var raw []logstore.RawEntry
	for r, err := range rs.ScanRaw(ctx(t), "t1", logquery.Filter{}, "") {
		require.NoError(t, err)
		raw = append(raw, r)
	}
	require.Len(t, raw, 2)
	assert.Equal(t, ids(page.Entries), []string{raw[0].Entry.ID, raw[1].Entry.ID}, "ScanRaw yields what Scan yields")
	for _, r := range raw {
		assert.Nil(t, r.Entry.Metadata)
		want := mustJSON(t, byID[r.Entry.ID].Metadata)
		if r.Entry.ID == out[0].ID {
			want = mustJSON(t, md)
		}
		assert.Equal(t, want, string(r.Metadata), "raw metadata is the compact JSON encoding/json writes")
	}
}

// testConcurrentRetries: the same batch sent again and again, concurrently,
// with ids the writer gave (not UUIDv7, no createdAt, so the store cannot
// tell a retry by its time): each id is stored once.
func testConcurrentRetries(t *testing.T, h Harness) {
	const rounds, writers = 20, 4
	for r := 0; r < rounds; r++ {
		batch := []logs.Entry{
			{ID: uuid.NewString(), Level: logs.LevelInfo, Source: "i", Message: fmt.Sprintf("round %d", r)},
			{ID: uuid.NewString(), Level: logs.LevelWarn, Source: "i", Message: "second", Metadata: map[string]any{"r": r}},
		}
		var wg sync.WaitGroup
		results := make([][]logs.Entry, writers)
		errs := make([]error, writers)
		for w := range writers {
			wg.Go(func() { results[w], errs[w] = h.Store.Append(context.Background(), "t1", batch) })
		}
		wg.Wait()
		for w := range writers {
			require.NoError(t, errs[w], "round %d writer %d", r, w)
			assert.Equal(t, ids(batch), ids(results[w]), "every retry answers the same ids")
			assert.True(t, results[w][0].CreatedAt.Equal(results[0][0].CreatedAt), "and the stored time")
		}
	}
	got := all(t, h.Store, "t1", logquery.Filter{})
	assert.Len(t, got, 2*rounds, "every id once")
	seen := map[string]bool{}
	for _, e := range got {
		assert.False(t, seen[e.ID], "id %s stored twice", e.ID)
		seen[e.ID] = true
	}
}

// testConflictingRetry: an id sent again with other content is refused,
// naming the entry, and the batch stores nothing; an identical retry is
// accepted and answers the stored entries.
func testConflictingRetry(t *testing.T, h Harness) {
	id := uuid.NewString()
	first := appendAll(t, h.Store, "t1", logs.Entry{ID: id, Level: logs.LevelInfo, Source: "s", Message: "original", Metadata: map[string]any{"a": 1}})
	other := logs.Entry{Level: logs.LevelInfo, Source: "s", Message: "new entry"}
	for _, c := range []struct {
		name   string
		change func(e *logs.Entry)
	}{
		{"message", func(e *logs.Entry) { e.Message = "changed" }},
		{"level", func(e *logs.Entry) { e.Level = logs.LevelError }},
		{"source", func(e *logs.Entry) { e.Source = "other" }},
		{"metadata", func(e *logs.Entry) { e.Metadata = map[string]any{"a": 2} }},
		{"createdAt", func(e *logs.Entry) { e.CreatedAt = base }},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := logs.Entry{ID: id, Level: logs.LevelInfo, Source: "s", Message: "original", Metadata: map[string]any{"a": 1}}
			c.change(&e)
			_, err := h.Store.Append(ctx(t), "t1", []logs.Entry{other, e})
			require.ErrorIs(t, err, logs.ErrConflict)
			assert.Equal(t, "logs[1].id", logs.FieldOf(err))
		})
	}
	// Within one batch, too.
	_, err := h.Store.Append(ctx(t), "t1", []logs.Entry{
		{ID: "0b6f2a4e-8c1d-4c5e-9f3a-2d1e0c9b8a7f", Level: logs.LevelInfo, Source: "s", Message: "a"},
		{ID: "0B6F2A4E-8C1D-4C5E-9F3A-2D1E0C9B8A7F", Level: logs.LevelInfo, Source: "s", Message: "b"},
	})
	require.ErrorIs(t, err, logs.ErrConflict)
	assert.Equal(t, "logs[1].id", logs.FieldOf(err))
	page, err := h.Store.Query(ctx(t), "t1", logquery.Filter{})
	require.NoError(t, err)
	assert.Equal(t, ids(first), ids(page.Entries), "refused batches store nothing")

	// An identical retry, without the createdAt the store gave it, is the stored entry.
	again, err := h.Store.Append(ctx(t), "t1", []logs.Entry{{ID: strings.ToUpper(id), Level: logs.LevelInfo, Source: "s", Message: "original", Metadata: map[string]any{"a": 1}}})
	require.NoError(t, err)
	require.Len(t, again, 1)
	assert.Equal(t, id, again[0].ID)
	assert.True(t, first[0].CreatedAt.Equal(again[0].CreatedAt), "the stored time")
	assert.JSONEq(t, `{"a":1}`, mustJSON(t, again[0].Metadata))
}

// job returns a fresh export job of tenant.
func job(tenant string, created time.Time) logstore.ExportJob {
	f, err := logquery.New().Level(logs.LevelError).Search("login").Since(base).Build()
	if err != nil {
		panic(err)
	}
	f.Page, f.Limit = 0, 0
	id := "exp-" + uuid.NewString()
	return logstore.ExportJob{
		ID: id, TenantID: tenant, Format: "csv", Filter: f, Snapshot: "snap", Status: logstore.JobProcessing,
		EstimatedRecords: 42, BlobKey: "tenants/" + tenant + "/logs/" + id + ".csv",
		CreatedAt: created, DeadlineAt: created.Add(15 * time.Minute),
	}
}

func testExportJobs(t *testing.T, h Harness) {
	if h.Jobs == nil {
		t.Skip("the store keeps no export jobs")
	}
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	j := job("t1", now)
	require.NoError(t, h.Jobs.InsertExportJob(c, j))
	assert.ErrorIs(t, h.Jobs.InsertExportJob(c, j), logs.ErrConflict, "an id is unique")

	got, err := h.Jobs.ExportJob(c, "t1", j.ID)
	require.NoError(t, err)
	assert.Equal(t, j.Filter.Raw(), got.Filter.Raw())
	got.Filter = j.Filter
	assert.Equal(t, j, got, "a job reads back as stored")
	_, err = h.Jobs.ExportJob(c, "t2", j.ID)
	assert.ErrorIs(t, err, logs.ErrNotFound, "another tenant's job is not found")
	_, err = h.Jobs.ExportJob(c, "t1", "exp-"+uuid.NewString())
	assert.ErrorIs(t, err, logs.ErrNotFound)
	n, err := h.Jobs.CountExportJobs(c, "t1", logstore.JobProcessing)
	require.NoError(t, err)
	assert.Equal(t, 1, n)

	// Claim, renew, complete.
	claimed, err := h.Jobs.ClaimExportJob(c, "w1", now, now.Add(time.Minute), 3)
	require.NoError(t, err)
	require.NotNil(t, claimed)
	assert.Equal(t, j.ID, claimed.ID)
	assert.Equal(t, 1, claimed.Attempts)
	assert.Equal(t, "w1", claimed.LeaseOwner)
	none, err := h.Jobs.ClaimExportJob(c, "w2", now, now.Add(time.Minute), 3)
	require.NoError(t, err)
	assert.Nil(t, none, "a leased job is not claimed again")
	ok, err := h.Jobs.RenewExportJob(c, j.ID, "w2", now.Add(2*time.Minute), 5)
	require.NoError(t, err)
	assert.False(t, ok, "only the owner renews")
	ok, err = h.Jobs.RenewExportJob(c, j.ID, "w1", now.Add(2*time.Minute), 17)
	require.NoError(t, err)
	assert.True(t, ok)
	got, err = h.Jobs.ExportJob(c, "t1", j.ID)
	require.NoError(t, err)
	assert.Equal(t, logstore.JobProcessing, got.Status)
	assert.EqualValues(t, 17, got.Records, "the progress a renewal records")
	assert.True(t, got.LeaseUntil.Equal(now.Add(2*time.Minute)))
	ok, err = h.Jobs.CompleteExportJob(c, j.ID, "w1", 41, now, now.Add(24*time.Hour))
	require.NoError(t, err)
	assert.True(t, ok)
	got, err = h.Jobs.ExportJob(c, "t1", j.ID)
	require.NoError(t, err)
	assert.Equal(t, logstore.JobReady, got.Status)
	assert.EqualValues(t, 41, got.Records)
	assert.Empty(t, got.LeaseOwner)
	assert.True(t, got.FileExpiresAt.Equal(now.Add(24*time.Hour)))
	ok, err = h.Jobs.FailExportJob(c, j.ID, "w1", "late", now)
	require.NoError(t, err)
	assert.False(t, ok, "a finished job stays finished")

	// Files due, expiry, forgetting.
	due, err := h.Jobs.DueExportFiles(c, now.Add(23*time.Hour), 10)
	require.NoError(t, err)
	assert.Empty(t, due)
	due, err = h.Jobs.DueExportFiles(c, now.Add(25*time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.NoError(t, h.Jobs.ExpireExportJob(c, j.ID))
	got, err = h.Jobs.ExportJob(c, "t1", j.ID)
	require.NoError(t, err)
	assert.Equal(t, logstore.JobExpired, got.Status)
	deleted, err := h.Jobs.DeleteExportJobs(c, now.Add(24*time.Hour))
	require.NoError(t, err)
	assert.Zero(t, deleted, "kept until its file expired before the cutoff")
	deleted, err = h.Jobs.DeleteExportJobs(c, now.Add(25*time.Hour))
	require.NoError(t, err)
	assert.EqualValues(t, 1, deleted)
	_, err = h.Jobs.ExportJob(c, "t1", j.ID)
	assert.ErrorIs(t, err, logs.ErrNotFound)
}

func testExportJobClaims(t *testing.T, h Harness) {
	if h.Jobs == nil {
		t.Skip("the store keeps no export jobs")
	}
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	// Many jobs, many concurrent claimers: each job to one of them, oldest first.
	var inserted []string
	for i := range 12 {
		j := job(fmt.Sprintf("t%d", i%3), now.Add(time.Duration(i)*time.Millisecond))
		require.NoError(t, h.Jobs.InsertExportJob(c, j))
		inserted = append(inserted, j.ID)
	}
	var mu sync.Mutex
	var claimed []string
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for {
				j, err := h.Jobs.ClaimExportJob(context.Background(), fmt.Sprintf("w%d", w), now.Add(time.Second), now.Add(time.Minute), 3)
				if !assert.NoError(t, err) || j == nil {
					return
				}
				mu.Lock()
				claimed = append(claimed, j.ID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.ElementsMatch(t, inserted, claimed, "every job claimed once")

	// Release: not counted at shutdown, counted on failure; notBefore holds it back.
	j := job("t1", now.Add(-time.Hour))
	j.DeadlineAt = now.Add(time.Hour)
	require.NoError(t, h.Jobs.InsertExportJob(c, j))
	cl, err := h.Jobs.ClaimExportJob(c, "w", now, now.Add(time.Minute), 3)
	require.NoError(t, err)
	require.Equal(t, j.ID, cl.ID, "the oldest first")
	ok, err := h.Jobs.ReleaseExportJob(c, j.ID, "w", "", time.Time{}, false)
	require.NoError(t, err)
	require.True(t, ok)
	cl, err = h.Jobs.ClaimExportJob(c, "w", now, now.Add(time.Minute), 3)
	require.NoError(t, err)
	require.Equal(t, j.ID, cl.ID)
	assert.Equal(t, 1, cl.Attempts, "a shutdown does not count the attempt")
	ok, err = h.Jobs.ReleaseExportJob(c, j.ID, "w", "the store was unavailable", now.Add(10*time.Second), true)
	require.NoError(t, err)
	require.True(t, ok)
	cl, err = h.Jobs.ClaimExportJob(c, "w", now.Add(5*time.Second), now.Add(time.Minute), 3)
	require.NoError(t, err)
	assert.Nil(t, cl, "not before notBefore")
	cl, err = h.Jobs.ClaimExportJob(c, "w", now.Add(11*time.Second), now.Add(time.Minute), 3)
	require.NoError(t, err)
	require.NotNil(t, cl)
	assert.Equal(t, 2, cl.Attempts)
	assert.Equal(t, "the store was unavailable", cl.Reason)

	// Abandoned: out of attempts (lease expired) or past the deadline.
	failed, err := h.Jobs.FailAbandonedExportJobs(c, now.Add(2*time.Minute), 2, "deadline", "attempts")
	require.NoError(t, err)
	require.Len(t, failed, 1, "the job out of attempts, once its lease expired")
	assert.Equal(t, j.ID, failed[0].ID)
	assert.Equal(t, logstore.JobFailed, failed[0].Status)
	assert.Equal(t, "attempts", failed[0].Reason)
	late := job("t1", now.Add(-2*time.Hour))
	late.DeadlineAt = now
	require.NoError(t, h.Jobs.InsertExportJob(c, late))
	failed, err = h.Jobs.FailAbandonedExportJobs(c, now.Add(time.Hour), 3, "deadline", "attempts")
	require.NoError(t, err)
	var reasons []string
	for _, f := range failed {
		if f.ID == late.ID {
			reasons = append(reasons, f.Reason)
		}
	}
	assert.Equal(t, []string{"deadline"}, reasons)
}

func testTicketLedger(t *testing.T, h Harness) {
	if h.Tickets == nil {
		t.Skip("the store keeps no tickets")
	}
	c := ctx(t)
	exp := time.Now().Add(time.Minute)
	require.NoError(t, h.Tickets.SpendTicket(c, "ticket-1", exp))
	assert.ErrorIs(t, h.Tickets.SpendTicket(c, "ticket-1", exp), logstore.ErrSpent)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			err := h.Tickets.SpendTicket(context.Background(), "ticket-2", exp)
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
				return
			}
			assert.ErrorIs(t, err, logstore.ErrSpent)
		})
	}
	wg.Wait()
	assert.Equal(t, 1, wins, "of concurrent spends one succeeds")
}

func testConsumerLeases(t *testing.T, h Harness) {
	if h.Consumers == nil {
		t.Skip("the store keeps no consumers")
	}
	c := ctx(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	start := logstore.Cursor{Epoch: 0, Seq: 0}
	st, ok, err := h.Consumers.ClaimConsumer(c, "c1", "w1", start, now, now.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, start, st.Checkpoint)
	_, ok, err = h.Consumers.ClaimConsumer(c, "c1", "w2", start, now, now.Add(time.Minute))
	require.NoError(t, err)
	assert.False(t, ok, "a held lease is not taken")
	_, ok, err = h.Consumers.ClaimConsumer(c, "c1", "w1", start, now.Add(30*time.Second), now.Add(2*time.Minute))
	require.NoError(t, err)
	assert.True(t, ok, "the owner renews")

	recs := appendAll(t, h.Store, "t1", entry(logs.LevelInfo, "s", "a", base), entry(logs.LevelInfo, "s", "b", base))
	_ = recs
	got := after(t, h.Store, "", start, 10, 2)
	to := got[1].Cursor
	ok, err = h.Consumers.AdvanceConsumer(c, "c1", "w2", start, to, now)
	require.NoError(t, err)
	assert.False(t, ok, "only the owner advances")
	ok, err = h.Consumers.AdvanceConsumer(c, "c1", "w1", start, to, now)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = h.Consumers.AdvanceConsumer(c, "c1", "w1", start, to, now)
	require.NoError(t, err)
	assert.False(t, ok, "from must be the checkpoint: a second advance from the old one does nothing")
	_, err = h.Consumers.AdvanceConsumer(c, "c1", "w1", to, start, now)
	assert.ErrorIs(t, err, logs.ErrInvalid, "a checkpoint never goes back")
	n, err := h.Consumers.CountAfter(c, "t1", start, 100)
	require.NoError(t, err)
	assert.EqualValues(t, 2, n)
	n, err = h.Consumers.CountAfter(c, "", to, 100)
	require.NoError(t, err)
	assert.Zero(t, n)
	n, err = h.Consumers.CountAfter(c, "t1", start, 1)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n, "counted at most max")

	// An expired lease is taken over; the old owner can no longer advance.
	st, ok, err = h.Consumers.ClaimConsumer(c, "c1", "w2", start, now.Add(3*time.Minute), now.Add(4*time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, to, st.Checkpoint, "the checkpoint survives the owner")
	ok, err = h.Consumers.AdvanceConsumer(c, "c1", "w1", to, to, now.Add(3*time.Minute))
	require.NoError(t, err)
	assert.False(t, ok)
	require.NoError(t, h.Consumers.ReleaseConsumer(c, "c1", "w2"))
	_, ok, err = h.Consumers.ClaimConsumer(c, "c1", "w3", start, now.Add(3*time.Minute), now.Add(4*time.Minute))
	require.NoError(t, err)
	assert.True(t, ok, "a released lease is free")

	// Concurrent claims: one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for w := range 6 {
		wg.Go(func() {
			_, ok, err := h.Consumers.ClaimConsumer(context.Background(), "c2", fmt.Sprintf("w%d", w), start, now, now.Add(time.Minute))
			if assert.NoError(t, err) && ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, wins)
	states, err := h.Consumers.ConsumerStates(c)
	require.NoError(t, err)
	require.Len(t, states, 2)
	require.NoError(t, h.Consumers.DeleteConsumer(c, "c2"))
	states, err = h.Consumers.ConsumerStates(c)
	require.NoError(t, err)
	require.Len(t, states, 1)
	assert.Equal(t, "c1", states[0].Name)
}

// consumeRollups runs the rollup consumer by hand over at most max entries.
func consumeRollups(t *testing.T, h Harness, max int) {
	t.Helper()
	c := ctx(t)
	now := time.Now()
	st, ok, err := h.Consumers.ClaimConsumer(c, logstore.RollupConsumer, "test", logstore.Cursor{}, now, now.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	recs, err := h.Store.After(c, "", st.Checkpoint, max)
	require.NoError(t, err)
	if len(recs) == 0 {
		return
	}
	ok, err = h.Consumers.AdvanceConsumer(c, logstore.RollupConsumer, "test", st.Checkpoint, recs[len(recs)-1].Cursor, now,
		logstore.RollupEffect{Deltas: logstore.RollupDeltas(recs)})
	require.NoError(t, err)
	require.True(t, ok)
}

// testTotalsFromRollups: the list's total equals a direct count for every
// filter and range, however far the rollup consumer got, with entries
// written out of time order, in the past and at bucket edges.
func testTotalsFromRollups(t *testing.T, h Harness) {
	if h.Consumers == nil {
		t.Skip("the store keeps no consumers")
	}
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	levels := []logs.Level{logs.LevelInfo, logs.LevelWarn, logs.LevelError}
	sources := []string{"auth", "admin", "scim"}
	var batch []logs.Entry
	add := func(at time.Time, i int) {
		batch = append(batch, entry(levels[i%3], sources[i%len(sources)], fmt.Sprintf("m%d", i), at))
	}
	i := 0
	for d := range 4 {
		for hh := 0; hh < 24; hh += 5 {
			add(day.AddDate(0, 0, d).Add(time.Duration(hh)*time.Hour+17*time.Minute), i)
			i++
		}
	}
	// Edges of hours and days, to the microsecond.
	for _, at := range []time.Time{day, day.Add(time.Hour), day.Add(time.Hour - time.Microsecond), day.Add(24 * time.Hour), day.Add(24*time.Hour - time.Microsecond)} {
		add(at, i)
		add(at, i+1)
		i += 2
	}
	appendAll(t, h.Store, "t1", batch...)
	appendAll(t, h.Store, "t2", entry(logs.LevelError, "auth", "other tenant", day.Add(2*time.Hour)))

	filters := []logquery.Filter{{}}
	for _, l := range append([]logs.Level{""}, levels...) {
		for _, src := range []string{"", "auth"} {
			for _, r := range [][2]time.Time{
				{},
				{day.Add(90 * time.Minute), {}},
				{{}, day.Add(50 * time.Hour)},
				{day.Add(30 * time.Minute), day.Add(40 * time.Minute)},
				{day.Add(time.Hour), day.Add(2*time.Hour - time.Microsecond)},
				{day.Add(time.Hour - time.Microsecond), day.Add(time.Hour)},
				{day, day.Add(24 * time.Hour)},
				{day, day.Add(24*time.Hour - time.Microsecond)},
				{day.Add(23 * time.Hour), day.Add(73*time.Hour + 5*time.Minute)},
				{day.AddDate(0, 0, -30), day.AddDate(0, 0, 30)},
			} {
				filters = append(filters, logquery.Filter{Level: l, Source: src, Start: r[0], End: r[1]})
			}
		}
	}
	check := func(stage string) {
		t.Helper()
		for _, f := range filters {
			page, err := h.Store.Query(ctx(t), "t1", f)
			require.NoError(t, err)
			n, err := h.Store.Count(ctx(t), "t1", f, "")
			require.NoError(t, err)
			require.Equal(t, n, page.Total, "%s: %s", stage, f)
		}
	}
	check("nothing consumed")
	consumeRollups(t, h, 7)
	check("some consumed")
	consumeRollups(t, h, 1000)
	check("all consumed")
	// Entries after the checkpoint, back-dated ones among them.
	var late []logs.Entry
	for j := range 12 {
		late = append(late, entry(levels[j%3], sources[j%3], "late", day.Add(time.Duration(j*7)*time.Hour+time.Minute)))
	}
	appendAll(t, h.Store, "t1", late...)
	check("new entries not consumed")
	consumeRollups(t, h, 5)
	check("partly consumed again")
	consumeRollups(t, h, 1000)
	check("consumed again")
}

// testStats: the counts of Stats agree with direct counts, per bucket, per
// level and source, for every interval, with and without the rollups.
func testStats(t *testing.T, h Harness) {
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	levels := []logs.Level{logs.LevelInfo, logs.LevelWarn, logs.LevelError}
	var batch []logs.Entry
	for i := range 60 {
		at := day.Add(time.Duration(i*53) * time.Minute).Add(time.Duration(i) * time.Second)
		batch = append(batch, entry(levels[i%3], []string{"auth", "admin"}[i%2], fmt.Sprintf("login %d", i), at))
	}
	appendAll(t, h.Store, "t1", batch...)
	appendAll(t, h.Store, "t2", entry(logs.LevelInfo, "auth", "other", day))
	check := func(stage string) {
		for _, c := range []struct {
			f        logquery.Filter
			interval time.Duration
		}{
			{logquery.Filter{}, 24 * time.Hour},
			{logquery.Filter{End: day.Add(80 * time.Hour)}, time.Hour},
			{logquery.Filter{Start: day.Add(90 * time.Minute), End: day.Add(40 * time.Hour)}, time.Hour},
			{logquery.Filter{Start: day.Add(90 * time.Minute), End: day.Add(50 * time.Hour)}, 24 * time.Hour},
			{logquery.Filter{Level: logs.LevelError, Start: day, End: day.Add(6 * time.Hour)}, 5 * time.Minute},
			{logquery.Filter{Source: "auth", Start: day, End: day.Add(2 * time.Hour)}, time.Minute},
			{logquery.Filter{Search: "login 1", Start: day.Add(-time.Hour), End: day.Add(3 * 24 * time.Hour)}, 24 * time.Hour},
		} {
			st, err := h.Store.Stats(ctx(t), "t1", c.f, c.interval)
			require.NoError(t, err, stage)
			total, err := h.Store.Count(ctx(t), "t1", c.f, "")
			require.NoError(t, err)
			require.Equal(t, total, st.Total, "%s: %s every %s", stage, c.f, c.interval)
			var sum, lv, src int64
			for _, n := range st.Levels {
				lv += n
			}
			for _, n := range st.Sources {
				src += n
			}
			assert.Equal(t, total, lv)
			assert.Equal(t, total, src)
			for i, b := range st.Buckets {
				if i > 0 {
					require.Equal(t, st.Buckets[i-1].Start.Add(-c.interval), b.Start, "newest first, every bucket")
				}
				f := c.f
				f.Start, f.End = b.Start, b.Start.Add(c.interval-time.Microsecond)
				if !c.f.Start.IsZero() && c.f.Start.After(f.Start) {
					f.Start = c.f.Start
				}
				if !c.f.End.IsZero() && c.f.End.Before(f.End) {
					f.End = c.f.End
				}
				n, err := h.Store.Count(ctx(t), "t1", f, "")
				require.NoError(t, err)
				require.Equal(t, n, b.Count, "%s: bucket %s of %s", stage, b.Start, c.f)
				var bl int64
				for _, m := range b.Levels {
					bl += m
				}
				assert.Equal(t, b.Count, bl)
				sum += b.Count
			}
			assert.Equal(t, total, sum, "the buckets hold every match")
			if !c.f.Start.IsZero() {
				assert.Equal(t, c.f.Start.Truncate(c.interval), st.Buckets[len(st.Buckets)-1].Start, "from the range's start")
			}
		}
	}
	check("no rollups")
	if h.Consumers != nil {
		consumeRollups(t, h, 25)
		check("some consumed")
		consumeRollups(t, h, 1000)
		check("all consumed")
	}
	_, err := h.Store.Stats(ctx(t), "t1", logquery.Filter{Start: day.AddDate(-1, 0, 0), End: day}, time.Minute)
	require.ErrorIs(t, err, logs.ErrInvalid)
	assert.Equal(t, "interval", logs.FieldOf(err))
	_, err = h.Store.Stats(ctx(t), "t1", logquery.Filter{}, time.Minute)
	require.ErrorIs(t, err, logs.ErrInvalid, "from the oldest entry to now, too many minutes")
	_, err = h.Store.Stats(ctx(t), "t1", logquery.Filter{}, 2*time.Hour)
	require.ErrorIs(t, err, logs.ErrInvalid)
}

// testPagingAtDepth: pages after a position (the cursor) and deep pages by
// number (found through the rollups) are exactly the slices of the full
// list, newest first, ties included, whatever the rollups hold.
func testPagingAtDepth(t *testing.T, h Harness) {
	levels := []logs.Level{logs.LevelInfo, logs.LevelWarn, logs.LevelError}
	var batch []logs.Entry
	for i := range 4600 {
		// Three entries per second-ish, many ties, over about three days.
		at := base.Add(-time.Duration(i/3) * 53 * time.Second)
		batch = append(batch, entry(levels[i%7%3], "s", fmt.Sprintf("m%d", i), at))
	}
	appendAll(t, h.Store, "t2", batch[:50]...)
	batch = appendAll(t, h.Store, "t1", batch...)
	for _, stage := range []string{"no rollups", "some rollups", "all rollups"} {
		if h.Consumers != nil {
			switch stage {
			case "some rollups":
				consumeRollups(t, h, 1700)
			case "all rollups":
				consumeRollups(t, h, 10000)
			}
		}
		for _, f := range []logquery.Filter{{}, {Level: logs.LevelInfo}, {Level: logs.LevelWarn, Start: base.Add(-40 * time.Hour)}} {
			want := ids(newestFirst(filterEntries(batch, f)))
			// Follow positions to the end.
			var got []string
			g := f
			g.Limit = 500
			for n := 0; ; n++ {
				page, err := h.Store.Query(ctx(t), "t1", g)
				require.NoError(t, err)
				require.EqualValues(t, len(want), page.Total)
				got = append(got, ids(page.Entries)...)
				if !page.More {
					break
				}
				require.Len(t, page.Entries, 500)
				last := page.Entries[len(page.Entries)-1]
				g.After = logquery.Position{CreatedAt: last.CreatedAt, ID: last.ID}
				require.Less(t, n, 100)
			}
			require.Equal(t, want, got, "%s: %s by position", stage, f)
			// Pages by number, deep ones among them.
			for _, pg := range []int{1, 2, 41, 50, 51, 90} {
				g := f
				g.Page, g.Limit = pg, 50
				page, err := h.Store.Query(ctx(t), "t1", g)
				require.NoError(t, err)
				lo, hi := min((pg-1)*50, len(want)), min(pg*50, len(want))
				require.Equal(t, want[lo:hi], ids(page.Entries), "%s: %s page %d", stage, f, pg)
				assert.Equal(t, hi < len(want), page.More)
			}
		}
	}
}

// filterEntries returns the entries that match f.
func filterEntries(es []logs.Entry, f logquery.Filter) []logs.Entry {
	var out []logs.Entry
	for _, e := range es {
		if f.Match(e) {
			out = append(out, e)
		}
	}
	return out
}

// testTenantRetention: a tenant's retention applies to every read at once
// (list, total, stats, scan, its cursor reads), refuses older entries on
// append, leaves other tenants alone, and the purge removes the entries
// and their counts.
func testTenantRetention(t *testing.T, h Harness) {
	if h.Settings == nil {
		t.Skip("the store keeps no settings")
	}
	c := ctx(t)
	now := time.Now().UTC()
	old := entry(logs.LevelError, "auth", "forty days old", now.Add(-40*24*time.Hour))
	recent := entry(logs.LevelError, "auth", "ten days old", now.Add(-10*24*time.Hour))
	appendAll(t, h.Store, "t1", old, recent)
	appendAll(t, h.Store, "t2", old, recent)
	if h.Consumers != nil {
		consumeRollups(t, h, 1000)
	}
	st, err := h.Settings.TenantSettings(c, "t1")
	require.NoError(t, err)
	assert.Zero(t, st.RetentionDays, "nothing set: the default")
	for _, bad := range []int{-1, 100*365 + 1} {
		err := h.Settings.SetTenantSettings(c, "t1", logstore.TenantSettings{RetentionDays: bad})
		require.ErrorIs(t, err, logs.ErrInvalid)
		assert.Equal(t, "retentionDays", logs.FieldOf(err))
	}
	require.NoError(t, h.Settings.SetTenantSettings(c, "t1", logstore.TenantSettings{RetentionDays: 30}))
	st, err = h.Settings.TenantSettings(c, "t1")
	require.NoError(t, err)
	assert.Equal(t, 30, st.RetentionDays)
	keep, err := h.Settings.Retention(c, "t1")
	require.NoError(t, err)
	assert.Equal(t, 30*24*time.Hour, keep)

	check := func(tenant string, want ...string) {
		t.Helper()
		page, err := h.Store.Query(c, tenant, logquery.Filter{})
		require.NoError(t, err)
		var got []string
		for _, e := range page.Entries {
			got = append(got, e.Message)
		}
		assert.Equal(t, want, got, tenant)
		assert.EqualValues(t, len(want), page.Total)
		n, err := h.Store.Count(c, tenant, logquery.Filter{Level: logs.LevelError}, "")
		require.NoError(t, err)
		assert.EqualValues(t, len(want), n)
		stats, err := h.Store.Stats(c, tenant, logquery.Filter{}, 24*time.Hour)
		require.NoError(t, err)
		assert.EqualValues(t, len(want), stats.Total)
		assert.Len(t, all(t, h.Store, tenant, logquery.Filter{Start: now.Add(-60 * 24 * time.Hour)}), len(want))
		recs, err := h.Store.After(c, tenant, logstore.Cursor{}, 100)
		require.NoError(t, err)
		assert.Len(t, recs, len(want), "a tenant's cursor reads")
	}
	check("t1", "ten days old")
	check("t2", "ten days old", "forty days old")
	_, err = h.Store.Append(c, "t1", []logs.Entry{entry(logs.LevelInfo, "s", "too old", now.Add(-31*24*time.Hour))})
	require.ErrorIs(t, err, logs.ErrInvalid)
	assert.Equal(t, "logs[0].createdAt", logs.FieldOf(err))
	appendAll(t, h.Store, "t2", entry(logs.LevelInfo, "s", "fine elsewhere", now.Add(-31*24*time.Hour)))

	n, err := h.Settings.PurgeExpired(c, now)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n, "t1's expired entry")
	// Back to the default (forever here): what was purged stays gone.
	require.NoError(t, h.Settings.SetTenantSettings(c, "t1", logstore.TenantSettings{}))
	check("t1", "ten days old")
	if h.Consumers != nil {
		consumeRollups(t, h, 1000)
	}
	total, err := h.Store.Query(c, "t2", logquery.Filter{})
	require.NoError(t, err)
	assert.EqualValues(t, 3, total.Total)
}
