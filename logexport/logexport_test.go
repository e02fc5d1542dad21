package logexport_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/fileblob"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logexport"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore/bunstore"
)

const (
	tenantA = "3e7a9f12-4b2c-4d8e-a1f0-9c2b3d4e5f6a"
	tenantB = "tenant-b"
)

var testSecret = []byte("0123456789abcdef-test-secret")

// env is a store, a bucket and an Exporter over them.
type env struct {
	store     *bunstore.Store
	bucket    *blob.Bucket
	bucketURL string
	exp       *logexport.Exporter
	signer    *fileblob.URLSignerHMAC
	opts      logexport.Options
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newEnv opens a store on a fresh database of backend (or on dbURL when not
// empty), a file bucket and an Exporter. With start, workers run.
func newEnv(tb testing.TB, backend, dbURL string, opts *logexport.Options, start bool) *env {
	tb.Helper()
	ctx := context.Background()
	if dbURL == "" {
		dbURL = testdb.URL(tb, backend)
	}
	st, err := bunstore.Open(ctx, dbURL, &bunstore.Options{Logger: quietLogger()})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = st.Close() })
	burl := "file://" + tb.TempDir()
	b, err := logexport.OpenBucket(ctx, burl)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = b.Close() })
	signer, err := logexport.NewFileSigner("http://127.0.0.1:1", testSecret)
	require.NoError(tb, err)
	o := logexport.Options{Logger: quietLogger(), Poll: 50 * time.Millisecond, Lease: 2 * time.Second}
	if opts != nil {
		o = *opts
		if o.Logger == nil {
			o.Logger = quietLogger()
		}
	}
	o.Signer = signer
	e, err := logexport.New(st, st, b, &o)
	require.NoError(tb, err)
	if start {
		require.NoError(tb, e.Start())
	}
	tb.Cleanup(func() { _ = e.Close() })
	return &env{store: st, bucket: b, bucketURL: burl, exp: e, signer: signer, opts: o}
}

// tricky are messages that test CSV quoting and formula neutralisation.
var tricky = []string{
	"Failed login attempt — invalid credentials",
	"=HYPERLINK(\"http://evil.example\",\"click\")",
	"+1+2",
	"-2+3",
	"@SUM(A1:A9)",
	"\tstarts with a tab",
	"\rstarts with a carriage return",
	"comma, \"quotes\" and\nnewline",
	"ünïcödé ✓ and a trailing space ",
	" a leading space",
	"\u00a0a leading no-break space",
	`\.`,
	"windows\r\nline end",
	`"quoted from the start"`,
	"plain message",
}

// entries makes n entries for tenant, one per second back from base.
func entries(tenant string, n int, base time.Time) []logs.Entry {
	levels := []logs.Level{logs.LevelInfo, logs.LevelWarn, logs.LevelError}
	sources := []string{"auth", "admin", "idp", "=scim"}
	out := make([]logs.Entry, n)
	for i := range out {
		md := map[string]any{"i": i, "ip": "102.45.67.89", "html": "<b>&</b>"}
		if i%3 == 0 {
			md["nested"] = map[string]any{"list": []any{1, "two", 3.5, nil, true}}
		}
		if i%5 == 0 {
			md = nil
		}
		out[i] = logs.Entry{
			Level: levels[i%3], Source: sources[i%len(sources)],
			Message:   fmt.Sprintf("%s #%d", tricky[i%len(tricky)], i),
			Metadata:  md,
			CreatedAt: base.Add(-time.Duration(i) * time.Second),
		}
	}
	return out
}

func appendAll(tb testing.TB, st *bunstore.Store, tenant string, es []logs.Entry) {
	tb.Helper()
	for len(es) > 0 {
		n := min(len(es), 1000)
		_, err := st.Append(context.Background(), tenant, es[:n])
		require.NoError(tb, err)
		es = es[n:]
	}
}

// queryAll returns every entry Query gives for f, page by page.
func queryAll(tb testing.TB, st *bunstore.Store, tenant string, f logquery.Filter) []logs.Entry {
	tb.Helper()
	var out []logs.Entry
	f.Limit = logquery.MaxLimit
	for f.Page = 1; ; f.Page++ {
		p, err := st.Query(context.Background(), tenant, f)
		require.NoError(tb, err)
		out = append(out, p.Entries...)
		if len(p.Entries) < f.Limit {
			require.EqualValues(tb, p.Total, len(out))
			return out
		}
	}
}

// waitDone polls job id until it is no longer processing.
func waitDone(tb testing.TB, e *logexport.Exporter, tenant, id string) logexport.Job {
	tb.Helper()
	var j logexport.Job
	require.Eventually(tb, func() bool {
		var err error
		j, err = e.Get(context.Background(), tenant, id)
		require.NoError(tb, err)
		return j.Status != logexport.StatusProcessing
	}, 60*time.Second, 20*time.Millisecond, "job %s still processing", id)
	return j
}

func readFile(tb testing.TB, b *blob.Bucket, key string) []byte {
	tb.Helper()
	data, err := b.ReadAll(context.Background(), key)
	require.NoError(tb, err)
	return data
}

// download fetches a ready job's file through its signed URL.
func download(tb testing.TB, e *logexport.Exporter, j logexport.Job) ([]byte, *logexport.File) {
	tb.Helper()
	require.Equal(tb, logexport.StatusReady, j.Status)
	u, err := url.Parse(j.DownloadURL)
	require.NoError(tb, err)
	f, err := e.Download(context.Background(), u)
	require.NoError(tb, err)
	defer f.Body.Close()
	data, err := io.ReadAll(f.Body)
	require.NoError(tb, err)
	return data, f
}

// csvCell is what the CSV must hold for value s.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// checkFile asserts that data, in format f, holds exactly want, in order.
func checkFile(t *testing.T, f logexport.Format, data []byte, want []logs.Entry) {
	t.Helper()
	switch f {
	case logexport.FormatJSON:
		var got []json.RawMessage
		require.NoError(t, json.Unmarshal(data, &got), "one JSON array")
		require.Equal(t, len(want), len(got), "entries")
		for i, e := range want {
			b, err := e.MarshalJSON()
			require.NoError(t, err)
			require.Equal(t, string(b), string(got[i]), "entry %d", i)
		}
	case logexport.FormatNDJSON:
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		i := 0
		for sc.Scan() {
			require.Less(t, i, len(want))
			b, err := want[i].MarshalJSON()
			require.NoError(t, err)
			require.Equal(t, string(b), sc.Text(), "line %d", i)
			i++
		}
		require.NoError(t, sc.Err())
		require.Equal(t, len(want), i)
	case logexport.FormatCSV:
		require.True(t, bytes.HasPrefix(data, []byte("id,tenantId,level,source,message,metadata,createdAt\r\n")),
			"header row with CRLF: %q", data[:min(len(data), 80)])
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord = 7
		rows, err := r.ReadAll()
		require.NoError(t, err, "RFC 4180")
		require.Equal(t, len(want)+1, len(rows), "rows")
		for i, e := range want {
			row := rows[i+1]
			assert.Equal(t, e.ID, row[0])
			assert.Equal(t, csvCell(e.TenantID), row[1])
			assert.Equal(t, string(e.Level), row[2])
			assert.Equal(t, csvCell(e.Source), row[3])
			// encoding/csv's reader turns \r\n inside a quoted field into
			// \n; a lone \r comes back as written.
			assert.Equal(t, strings.ReplaceAll(csvCell(e.Message), "\r\n", "\n"), row[4], "row %d", i)
			var md map[string]any
			require.NoError(t, json.Unmarshal([]byte(row[5]), &md), "metadata is JSON")
			wantMD := e.Metadata
			if wantMD == nil {
				wantMD = map[string]any{}
			}
			wb, _ := json.Marshal(wantMD)
			var wmd map[string]any
			require.NoError(t, json.Unmarshal(wb, &wmd))
			assert.Equal(t, wmd, md)
			assert.Equal(t, logs.FormatTime(e.CreatedAt), row[6])
			ts, err := time.Parse(time.RFC3339Nano, row[6])
			require.NoError(t, err)
			assert.True(t, ts.Equal(e.CreatedAt))
		}
	}
}

func TestRoundTrip(t *testing.T) {
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			ev := newEnv(t, backend, "", nil, true)
			ctx := context.Background()
			appendAll(t, ev.store, tenantA, entries(tenantA, 1200, base))
			appendAll(t, ev.store, tenantB, entries(tenantB, 300, base))

			filters := map[string]logquery.Filter{
				"all":      {},
				"errors":   {Level: logs.LevelError},
				"source":   {Source: "=scim", Start: base.Add(-900 * time.Second), End: base.Add(-100 * time.Second)},
				"search":   {Search: `"invalid credentials"`},
				"no match": {Source: "nothing"},
			}
			for _, format := range []logexport.Format{logexport.FormatCSV, logexport.FormatJSON, logexport.FormatNDJSON} {
				for name, f := range filters {
					t.Run(string(format)+"/"+name, func(t *testing.T) {
						want := queryAll(t, ev.store, tenantA, f)
						j, err := ev.exp.Submit(ctx, tenantA, format, f)
						require.NoError(t, err)
						assert.Regexp(t, `^exp-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, j.ID)
						assert.Equal(t, logexport.StatusProcessing, j.Status)
						assert.EqualValues(t, len(want), j.EstimatedRecords)
						assert.WithinDuration(t, time.Now(), j.CreatedAt, time.Minute)

						// Appended after submission: matches every filter
						// but must not be in the file.
						late := entries(tenantA, 20, base.Add(-500*time.Second))
						for i := range late {
							late[i].Source = "=scim"
							late[i].Message = "late invalid credentials"
						}
						appendAll(t, ev.store, tenantA, late)

						done := waitDone(t, ev.exp, tenantA, j.ID)
						require.Equal(t, logexport.StatusReady, done.Status, done.Error)
						assert.EqualValues(t, len(want), done.Records)
						assert.Equal(t, j.EstimatedRecords, done.EstimatedRecords)
						assert.Empty(t, done.Error)
						assert.WithinDuration(t, time.Now().Add(time.Hour), done.ExpiresAt, 5*time.Second)
						assert.True(t, done.FileExpiresAt.After(done.ExpiresAt))

						data, file := download(t, ev.exp, done)
						assert.Equal(t, j.ID+"."+string(format), file.Name)
						assert.Equal(t, format.ContentType(), file.ContentType)
						assert.EqualValues(t, len(data), file.Size)
						checkFile(t, format, data, want)
						assert.Equal(t, data, readFile(t, ev.bucket, logexport.BlobKey(tenantA, j.ID, format)))
					})
				}
			}
		})
	}
}

func TestCSVNeutralisesFormulas(t *testing.T) {
	ev := newEnv(t, "sqlite", "", nil, true)
	ctx := context.Background()
	msgs := []string{"=1+2", "+cmd|' /C calc'!A0", "-2", "@SUM(A1)", "\t=1", "\r=1", "ok = fine", "'quoted"}
	var es []logs.Entry
	for _, m := range msgs {
		es = append(es, logs.Entry{Level: logs.LevelInfo, Source: "@src", Message: m, Metadata: map[string]any{"k": "=v"}})
	}
	appendAll(t, ev.store, "-tenant", es)
	j, err := ev.exp.Submit(ctx, "-tenant", logexport.FormatCSV, logquery.Filter{})
	require.NoError(t, err)
	j = waitDone(t, ev.exp, "-tenant", j.ID)
	data, _ := download(t, ev.exp, j)
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, len(msgs)+1)
	got := map[string]bool{}
	for _, row := range rows[1:] {
		assert.Equal(t, "'-tenant", row[1])
		assert.Equal(t, "'@src", row[3])
		assert.Equal(t, `{"k":"=v"}`, row[5])
		got[row[4]] = true
	}
	for _, m := range []string{"'=1+2", "'+cmd|' /C calc'!A0", "'-2", "'@SUM(A1)", "'\t=1", "'\r=1", "ok = fine", "'quoted"} {
		assert.True(t, got[m], "cell %q in %v", m, got)
	}
}

func TestSubmitValidates(t *testing.T) {
	ev := newEnv(t, "sqlite", "", nil, false)
	ctx := context.Background()
	tests := []struct {
		name, tenant string
		format       logexport.Format
		f            logquery.Filter
		field        string
	}{
		{"no format", tenantA, "", logquery.Filter{}, "format"},
		{"bad format", tenantA, "xml", logquery.Filter{}, "format"},
		{"upper case format", tenantA, "CSV", logquery.Filter{}, "format"},
		{"bad level", tenantA, "csv", logquery.Filter{Level: "fatal"}, "level"},
		{"start after end", tenantA, "csv", logquery.Filter{Start: time.Now(), End: time.Now().Add(-time.Hour)}, "startDate"},
		{"bad tenant", "a/b", "csv", logquery.Filter{}, "tenantId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ev.exp.Submit(ctx, tt.tenant, tt.format, tt.f)
			require.ErrorIs(t, err, logs.ErrInvalid)
			assert.Equal(t, tt.field, logs.FieldOf(err))
		})
	}
	for _, s := range []string{"csv", "json", "ndjson"} {
		f, err := logexport.ParseFormat(s)
		require.NoError(t, err)
		assert.EqualValues(t, s, f)
	}
}

func TestGetIsolatesTenants(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			ev := newEnv(t, backend, "", nil, false)
			ctx := context.Background()
			j, err := ev.exp.Submit(ctx, tenantA, logexport.FormatCSV, logquery.Filter{})
			require.NoError(t, err)
			got, err := ev.exp.Get(ctx, tenantA, j.ID)
			require.NoError(t, err)
			assert.Equal(t, j.ID, got.ID)
			assert.Equal(t, logexport.StatusProcessing, got.Status)
			assert.Empty(t, got.DownloadURL)

			for name, c := range map[string][2]string{
				"other tenant":  {tenantB, j.ID},
				"unknown id":    {tenantA, "exp-00000000-0000-4000-8000-000000000000"},
				"no prefix":     {tenantA, strings.TrimPrefix(j.ID, "exp-")},
				"malformed":     {tenantA, "exp-'; DROP TABLE log_export_jobs; --"},
				"too long":      {tenantA, j.ID + strings.Repeat("a", 5000)},
				"empty":         {tenantA, ""},
				"upper case":    {tenantA, strings.ToUpper(j.ID)},
				"invalid owner": {"", j.ID},
			} {
				t.Run(name, func(t *testing.T) {
					_, err := ev.exp.Get(ctx, c[0], c[1])
					require.ErrorIs(t, err, logs.ErrNotFound)
				})
			}
		})
	}
}

func TestDownloadRefusesBadURLs(t *testing.T) {
	ev := newEnv(t, "sqlite", "", nil, true)
	ctx := context.Background()
	appendAll(t, ev.store, tenantA, entries(tenantA, 10, time.Now()))
	appendAll(t, ev.store, tenantB, entries(tenantB, 10, time.Now()))
	ja, err := ev.exp.Submit(ctx, tenantA, logexport.FormatJSON, logquery.Filter{})
	require.NoError(t, err)
	jb, err := ev.exp.Submit(ctx, tenantB, logexport.FormatJSON, logquery.Filter{})
	require.NoError(t, err)
	ja = waitDone(t, ev.exp, tenantA, ja.ID)
	jb = waitDone(t, ev.exp, tenantB, jb.ID)
	download(t, ev.exp, ja)

	good, err := url.Parse(ja.DownloadURL)
	require.NoError(t, err)
	assert.Equal(t, "/api/v1/logs/export/download", good.Path)
	q := good.Query()
	assert.Equal(t, logexport.BlobKey(tenantA, ja.ID, logexport.FormatJSON), q.Get("obj"))

	tamper := func(k, v string) *url.URL {
		u := *good
		q := u.Query()
		q.Set(k, v)
		u.RawQuery = q.Encode()
		return &u
	}
	expiry, err := strconv.ParseInt(q.Get("expiry"), 10, 64)
	require.NoError(t, err)
	expired, err := ev.signer.URLFromKey(ctx, q.Get("obj"), &driver.SignedURLOptions{Expiry: -time.Minute, Method: "GET"})
	require.NoError(t, err)
	put, err := ev.signer.URLFromKey(ctx, q.Get("obj"), &driver.SignedURLOptions{Expiry: time.Hour, Method: "PUT"})
	require.NoError(t, err)
	otherKey, err := logexport.NewFileSigner("http://127.0.0.1:1", []byte("another secret of 16+ bytes"))
	require.NoError(t, err)
	forged, err := otherKey.URLFromKey(ctx, q.Get("obj"), &driver.SignedURLOptions{Expiry: time.Hour, Method: "GET"})
	require.NoError(t, err)

	for name, u := range map[string]*url.URL{
		"other tenant's object": tamper("obj", logexport.BlobKey(tenantB, jb.ID, logexport.FormatJSON)),
		"longer expiry":         tamper("expiry", strconv.FormatInt(expiry+3600, 10)),
		"bad signature":         tamper("signature", "AAAA"+q.Get("signature")[4:]),
		"no signature":          tamper("signature", ""),
		"expired":               expired,
		"signed for PUT":        put,
		"signed with other key": forged,
		"no query":              {Path: good.Path},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ev.exp.Download(ctx, u)
			require.ErrorIs(t, err, logs.ErrPermissionDenied)
		})
	}
}

func TestFilesExpire(t *testing.T) {
	ev := newEnv(t, "sqlite", "", &logexport.Options{Poll: 50 * time.Millisecond, Retention: 1500 * time.Millisecond}, true)
	ctx := context.Background()
	appendAll(t, ev.store, tenantA, entries(tenantA, 10, time.Now()))
	j, err := ev.exp.Submit(ctx, tenantA, logexport.FormatCSV, logquery.Filter{})
	require.NoError(t, err)
	j = waitDone(t, ev.exp, tenantA, j.ID)
	require.Equal(t, logexport.StatusReady, j.Status)
	assert.False(t, j.ExpiresAt.After(j.FileExpiresAt), "URL expiry never passes the file's")
	u, err := url.Parse(j.DownloadURL)
	require.NoError(t, err)
	key := logexport.BlobKey(tenantA, j.ID, logexport.FormatCSV)
	ok, err := ev.bucket.Exists(ctx, key)
	require.NoError(t, err)
	require.True(t, ok)

	require.Eventually(t, func() bool {
		got, err := ev.exp.Get(ctx, tenantA, j.ID)
		require.NoError(t, err)
		if got.Status == logexport.StatusExpired {
			assert.Empty(t, got.DownloadURL)
			return true
		}
		return false
	}, 20*time.Second, 50*time.Millisecond, "the job reports expired")
	require.Eventually(t, func() bool {
		ok, err := ev.bucket.Exists(ctx, key)
		return err == nil && !ok
	}, 20*time.Second, 50*time.Millisecond, "the janitor deletes the file")
	_, err = ev.exp.Download(ctx, u)
	require.Error(t, err)
	assert.Contains(t, []logs.ErrorCode{logs.CodeNotFound, logs.CodePermissionDenied}, logs.Code(err))
	got, err := ev.exp.Get(ctx, tenantA, j.ID)
	require.NoError(t, err)
	assert.Equal(t, logexport.StatusExpired, got.Status)
}

func TestTooManyPending(t *testing.T) {
	ev := newEnv(t, "sqlite", "", &logexport.Options{MaxPending: 2}, false)
	ctx := context.Background()
	for range 2 {
		_, err := ev.exp.Submit(ctx, tenantA, logexport.FormatCSV, logquery.Filter{})
		require.NoError(t, err)
	}
	_, err := ev.exp.Submit(ctx, tenantA, logexport.FormatCSV, logquery.Filter{})
	require.ErrorIs(t, err, logs.ErrRateLimited)
	_, err = ev.exp.Submit(ctx, tenantB, logexport.FormatCSV, logquery.Filter{})
	require.NoError(t, err, "other tenants are not limited")
}

func TestDeadlineFails(t *testing.T) {
	ev := newEnv(t, "sqlite", "", &logexport.Options{Poll: 50 * time.Millisecond, Deadline: 300 * time.Millisecond}, true)
	// The worker is in the middle of the file when the deadline passes.
	logexport.SetRowHook(ev.exp, func(ctx context.Context, n int64) {
		if n == 10 {
			<-ctx.Done()
		}
	})
	ctx := context.Background()
	appendAll(t, ev.store, tenantA, entries(tenantA, 50, time.Now()))
	j, err := ev.exp.Submit(ctx, tenantA, logexport.FormatCSV, logquery.Filter{})
	require.NoError(t, err)
	j = waitDone(t, ev.exp, tenantA, j.ID)
	assert.Equal(t, logexport.StatusFailed, j.Status)
	assert.Contains(t, j.Error, "did not finish within")
	ok, err := ev.bucket.Exists(ctx, logexport.BlobKey(tenantA, j.ID, logexport.FormatCSV))
	require.NoError(t, err)
	assert.False(t, ok, "no partial file")
}

func TestCloseGivesJobBack(t *testing.T) {
	ev := newEnv(t, "sqlite", "", &logexport.Options{Poll: 50 * time.Millisecond, Lease: time.Hour}, true)
	ctx := context.Background()
	appendAll(t, ev.store, tenantA, entries(tenantA, 300, time.Now()))
	started := make(chan struct{}, 1)
	logexport.SetRowHook(ev.exp, func(ctx context.Context, n int64) {
		if n == 10 {
			started <- struct{}{}
			<-ctx.Done() // in the middle of the file until Close
		}
	})
	j, err := ev.exp.Submit(ctx, tenantA, logexport.FormatCSV, logquery.Filter{})
	require.NoError(t, err)
	<-started
	require.NoError(t, ev.exp.Close())

	// Another process (here: another Exporter) takes it up at once,
	// although the first one's lease was an hour.
	exp2, err := logexport.New(ev.store, ev.store, ev.bucket, &logexport.Options{Logger: quietLogger(), Signer: ev.signer})
	require.NoError(t, err)
	ran, err := logexport.RunOnce(ctx, exp2)
	require.NoError(t, err)
	require.True(t, ran)
	got, err := exp2.Get(ctx, tenantA, j.ID)
	require.NoError(t, err)
	require.Equal(t, logexport.StatusReady, got.Status)
	assert.Equal(t, 1, got.Attempts, "a shutdown does not count as an attempt")
	data, _ := download(t, exp2, got)
	checkFile(t, logexport.FormatCSV, data, queryAll(t, ev.store, tenantA, logquery.Filter{}))
}

// TestProgress: while a job runs, Get reports the entries written so far
// (stored with each lease renewal, a chunk at a time); once ready, all.
func TestProgress(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ev := newEnv(t, backend, "", &logexport.Options{Poll: 50 * time.Millisecond, Lease: 3 * time.Second,
				Progress: 20 * time.Millisecond}, true)
			ctx := context.Background()
			appendAll(t, ev.store, tenantA, entries(tenantA, 1000, time.Now()))
			release := make(chan struct{})
			logexport.SetRowHook(ev.exp, func(ctx context.Context, n int64) {
				if n == 600 { // in the third chunk: two are written
					select {
					case <-release:
					case <-ctx.Done():
					}
				}
			})
			j, err := ev.exp.Submit(ctx, tenantA, logexport.FormatNDJSON, logquery.Filter{})
			require.NoError(t, err)
			assert.Zero(t, j.Records)
			require.Eventually(t, func() bool {
				got, err := ev.exp.Get(ctx, tenantA, j.ID)
				require.NoError(t, err)
				require.Equal(t, logexport.StatusProcessing, got.Status)
				return got.Records == 512
			}, 20*time.Second, 10*time.Millisecond, "the progress of two chunks")
			close(release)
			got := waitDone(t, ev.exp, tenantA, j.ID)
			require.Equal(t, logexport.StatusReady, got.Status)
			assert.EqualValues(t, 1000, got.Records)
			assert.EqualValues(t, 1000, got.EstimatedRecords)
		})
	}
}
