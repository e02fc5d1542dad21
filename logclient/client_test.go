package logclient_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/logsdtest"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logclient"
	"github.com/ithbat/logs/logquery"
)

func TestMain(m *testing.M) { logsdtest.Main(m) }

// newClient is a client of d (or of url when given) for tenant with perms.
func newClient(tb testing.TB, url, tenant string, perms ...string) *logclient.Client {
	tb.Helper()
	c, err := logclient.New(url, logsdtest.Token(tb, tenant, perms...), tenant, nil)
	require.NoError(tb, err)
	return c
}

// entries makes n entries, level error for every third, createdAt one
// second apart ending now.
func entries(n int, source string) []logs.Entry {
	now := time.Now().UTC().Truncate(time.Microsecond)
	out := make([]logs.Entry, n)
	for i := range out {
		lv := logs.LevelInfo
		if i%3 == 0 {
			lv = logs.LevelError
		}
		out[i] = logs.Entry{Level: lv, Source: source, Message: fmt.Sprintf("event %d", i),
			Metadata: map[string]any{"i": i, "big": json.Number("12345678901234567890")}, CreatedAt: now.Add(time.Duration(i-n) * time.Second)}
	}
	return out
}

func TestClient(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			d := logsdtest.Start(t, backend, map[string]string{"LOGSD_STREAM_MAX_DURATION": "3s"})
			t.Run("query and all", func(t *testing.T) { testQuery(t, d) })
			t.Run("errors", func(t *testing.T) { testErrors(t, d) })
			t.Run("ingest retries", func(t *testing.T) { testIngestRetries(t, d) })
			t.Run("stream", func(t *testing.T) { testStream(t, d) })
			t.Run("export", func(t *testing.T) { testExport(t, d) })
			t.Run("stats", func(t *testing.T) { testStats(t, d) })
		})
	}
}

func testQuery(t *testing.T, d *logsdtest.Daemon) {
	ctx := t.Context()
	c := newClient(t, d.URL, "query", "log:read", "log:write")
	in := entries(1203, "auth")
	ids, err := c.Ingest(ctx, in, &logclient.IngestOptions{BatchSize: 500})
	require.NoError(t, err)
	require.Len(t, ids, len(in))
	assert.Empty(t, in[0].ID, "the caller's entries are not changed")

	p, err := c.Query(ctx, logquery.Filter{Level: logs.LevelError, Limit: 10})
	require.NoError(t, err)
	assert.EqualValues(t, 401, p.Total)
	assert.Len(t, p.Logs, 10)
	assert.NotEmpty(t, p.NextCursor)
	assert.Equal(t, "event 1200", p.Logs[0].Message)
	assert.Equal(t, json.Number("12345678901234567890"), p.Logs[0].Metadata["big"], "numbers keep their digits")

	var got []string
	for e, err := range c.All(ctx, logquery.Filter{Limit: 100}) {
		require.NoError(t, err)
		got = append(got, e.ID)
	}
	want := make([]string, len(ids))
	for i, id := range ids { // newest first
		want[len(ids)-1-i] = id
	}
	assert.Equal(t, want, got, "every entry once, newest first, over 13 pages")

	n := 0
	for _, err := range c.All(ctx, logquery.Filter{Search: "event 12", Limit: 3}) {
		require.NoError(t, err)
		if n++; n == 5 {
			break // stopping early is fine
		}
	}
	assert.Equal(t, 5, n)
}

func testErrors(t *testing.T, d *logsdtest.Daemon) {
	ctx := t.Context()
	c := newClient(t, d.URL, "errs")
	_, err := c.Query(ctx, logquery.Filter{Limit: 501})
	var e *logclient.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 400, e.Status)
	assert.Equal(t, logs.CodeInvalid, e.Code)
	assert.Equal(t, "limit", e.Field)
	assert.Contains(t, e.Message, "500")
	assert.NotEmpty(t, e.RequestID)
	assert.ErrorIs(t, err, logs.ErrInvalid)
	assert.Equal(t, logs.CodeInvalid, logs.Code(err))

	_, err = c.Ingest(ctx, entries(1, "x"), nil)
	assert.Equal(t, logs.CodePermissionDenied, logs.Code(err), "log:read cannot write: %v", err)

	bad, err := logclient.New(d.URL, "not-a-token", "errs", nil)
	require.NoError(t, err)
	_, err = bad.Query(ctx, logquery.Filter{})
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 401, e.Status)
	assert.ErrorIs(t, err, logs.ErrUnauthenticated)

	_, err = c.GetExport(ctx, "exp-nope")
	assert.ErrorIs(t, err, logs.ErrNotFound)

	// Nothing listens: unavailable, not a server's answer.
	gone, err := logclient.New("http://127.0.0.1:1", "t", "errs", nil)
	require.NoError(t, err)
	_, err = gone.Query(ctx, logquery.Filter{})
	assert.ErrorIs(t, err, logs.ErrUnavailable)
	assert.False(t, errors.As(err, &e))

	w := newClient(t, d.URL, "errs", "log:write")
	in := entries(5, "x")
	in[3].Level = "fatal"
	ids, err := w.Ingest(ctx, in, &logclient.IngestOptions{BatchSize: 2})
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "logs[3].level", e.Field, "the field names the caller's index")
	assert.Len(t, ids, 2, "the first batch was stored")

	for _, u := range []string{"", "ftp://x", "127.0.0.1:8080", "http://u:p@h/"} {
		_, err := logclient.New(u, "t", "acme", nil)
		assert.ErrorIs(t, err, logs.ErrInvalid, u)
	}
	_, err = logclient.New(d.URL, "t", "", nil)
	assert.ErrorIs(t, err, logs.ErrInvalid)
}

// testIngestRetries cuts the answer of a batch the server stored: the
// client sends it again with the same ids and nothing is stored twice.
func testIngestRetries(t *testing.T, d *logsdtest.Daemon) {
	ctx := t.Context()
	p := logsdtest.NewProxy(t, d.Addr)
	c := newClient(t, p.URL, "retry", "log:read", "log:write")
	cut := p.CutAt(`"ids"`, 0)
	var retries []error
	ids, err := c.Ingest(ctx, entries(30, "auth"), &logclient.IngestOptions{BatchSize: 10,
		OnRetry: func(err error, attempt int, wait time.Duration) { retries = append(retries, err) }})
	require.NoError(t, err)
	logsdtest.Wait(t, cut, "the cut")
	require.Len(t, retries, 1)
	assert.ErrorIs(t, retries[0], logs.ErrUnavailable)
	assert.Len(t, ids, 30)
	page, err := c.Query(ctx, logquery.Filter{Limit: 500})
	require.NoError(t, err)
	assert.EqualValues(t, 30, page.Total, "the retried batch is stored once")

	// The caller's own retry with prepared entries stores nothing either.
	in := entries(3, "auth")
	require.NoError(t, logclient.Prepare(in))
	first, err := c.Ingest(ctx, in, nil)
	require.NoError(t, err)
	again, err := c.Ingest(ctx, in, nil)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	page, err = c.Query(ctx, logquery.Filter{})
	require.NoError(t, err)
	assert.EqualValues(t, 33, page.Total)
}

// collector ranges over a stream in a goroutine.
type collector struct {
	mu   sync.Mutex
	got  []logs.Entry
	err  error
	ends []string
	errs []error
	done chan struct{}
	s    *logclient.Stream
}

func collect(ctx context.Context, c *logclient.Client, f logquery.Filter, lastID string) *collector {
	col := &collector{done: make(chan struct{})}
	col.s = c.Stream(f, &logclient.StreamOptions{LastEventID: lastID, MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second,
		OnReconnect: func(err error, wait time.Duration) {
			col.mu.Lock()
			defer col.mu.Unlock()
			var end *logclient.EndError
			if errors.As(err, &end) {
				col.ends = append(col.ends, end.Reason)
			} else {
				col.errs = append(col.errs, err)
			}
		}})
	go func() {
		defer close(col.done)
		for e, err := range col.s.Entries(ctx) {
			col.mu.Lock()
			if err != nil {
				col.err = err
			} else {
				col.got = append(col.got, e)
			}
			col.mu.Unlock()
		}
	}()
	return col
}

func (col *collector) snapshot() ([]logs.Entry, []string, []error) {
	col.mu.Lock()
	defer col.mu.Unlock()
	return append([]logs.Entry(nil), col.got...), append([]string(nil), col.ends...), append([]error(nil), col.errs...)
}

// waitFor waits until the collector has n entries (failing after a minute).
func (col *collector) waitFor(t *testing.T, n int) []logs.Entry {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got, _, _ := col.snapshot()
		if len(got) >= n {
			return got
		}
		select {
		case <-col.done:
			t.Fatalf("the stream ended with %d of %d entries: %v", len(got), n, col.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stream has %d of %d entries after a minute", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func messages(es []logs.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Message
	}
	return out
}

func testStream(t *testing.T, d *logsdtest.Daemon) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p := logsdtest.NewProxy(t, d.Addr)
	w := newClient(t, d.URL, "live", "log:write", "log:read")
	c := newClient(t, p.URL, "live")
	col := collect(ctx, c, logquery.Filter{Source: "auth"}, "")
	next := 0 // the number of the next entry of source auth
	ingest := func(k int) {
		var in []logs.Entry
		for range k {
			in = append(in, logs.Entry{Level: logs.LevelInfo, Source: "auth", Message: fmt.Sprintf("m%03d", next)},
				logs.Entry{Level: logs.LevelInfo, Source: "other", Message: fmt.Sprintf("o%03d", next)})
			next++
		}
		_, err := w.Ingest(t.Context(), in, nil)
		require.NoError(t, err)
	}
	// Wait for the connection: an entry written arrives.
	for len(col.waitForAtMost(200*time.Millisecond)) == 0 {
		ingest(1)
	}
	got, _, _ := col.snapshot()
	var k int // the first entry of the stream: those before it connected are not in it
	_, err := fmt.Sscanf(got[0].Message, "m%03d", &k)
	require.NoError(t, err)

	// A connection cut in the middle of an event's data, among events of
	// the largest entries (metadata of ~250 KB once escaped as JSON).
	cut := p.CutAt(`data: {"id"`, 25)
	blob := strings.Repeat("é\"\\", 40_000)
	var big []logs.Entry
	for range 3 {
		big = append(big, logs.Entry{Level: logs.LevelInfo, Source: "auth", Message: fmt.Sprintf("m%03d", next), Metadata: map[string]any{"blob": blob}})
		next++
	}
	_, err = w.Ingest(t.Context(), big, nil)
	require.NoError(t, err)
	ingest(5)
	logsdtest.Wait(t, cut, "the cut in an event")
	ingest(5)
	col.waitFor(t, next-k)

	// The server ends the stream (max_duration of 3s): it resumes.
	time.Sleep(3500 * time.Millisecond)
	ingest(5)
	col.waitFor(t, next-k)

	// logsd restarts: it resumes, nothing missed or repeated.
	d.Restart(t)
	ingest(5)
	col.waitFor(t, next-k)
	time.Sleep(300 * time.Millisecond) // a duplicate would arrive now
	got, ends, errs := col.snapshot()
	want := []string{}
	for i := k; i < next; i++ {
		want = append(want, fmt.Sprintf("m%03d", i))
	}
	assert.Equal(t, want, messages(got), "every entry once, in order, across the cut, the end and the restart")
	blobs := 0
	for _, e := range got {
		if e.Metadata["blob"] != nil {
			assert.Equal(t, blob, e.Metadata["blob"])
			blobs++
		}
	}
	assert.Equal(t, 3, blobs)
	assert.Contains(t, ends, "max_duration", "the server ended the stream")
	assert.NotEmpty(t, errs, "the cut and the restart were reconnections")
	assert.NotEmpty(t, col.s.LastEventID())

	// Resuming from the last id in a new stream gives what came after.
	last := col.s.LastEventID()
	cancel()
	<-col.done
	assert.ErrorIs(t, col.err, context.Canceled, "the context ends the stream")
	ingest(2)
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	col2 := collect(ctx2, newClient(t, d.URL, "live"), logquery.Filter{Source: "auth"}, last)
	assert.Equal(t, []string{fmt.Sprintf("m%03d", next-2), fmt.Sprintf("m%03d", next-1)}, messages(col2.waitFor(t, 2)))
	cancel2()
	<-col2.done

	// 401 and 403 stop the stream at once, without retrying.
	for name, c := range map[string]*logclient.Client{
		"401": must(logclient.New(d.URL, "bad", "live", nil)),
		"403": must(logclient.New(d.URL, logsdtest.Token(t, "live", "log:write"), "live", nil)),
	} {
		col := collect(t.Context(), c, logquery.Filter{}, "")
		logsdtest.Wait(t, col.done, name+" ending the stream")
		_, _, errs := col.snapshot()
		assert.Empty(t, errs, name)
		var e *logclient.Error
		require.ErrorAs(t, col.err, &e, name)
		assert.Equal(t, name, fmt.Sprint(e.Status))
	}
	// An event id of another tenant is refused: a 400 naming it.
	col3 := collect(t.Context(), newClient(t, d.URL, "other"), logquery.Filter{}, last)
	logsdtest.Wait(t, col3.done, "the refusal")
	assert.Equal(t, "Last-Event-ID", logs.FieldOf(col3.err)+fieldOf(col3.err))
}

func fieldOf(err error) string {
	var e *logclient.Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// waitForAtMost returns the entries after waiting d at most for one.
func (col *collector) waitForAtMost(d time.Duration) []logs.Entry {
	deadline := time.Now().Add(d)
	for {
		got, _, _ := col.snapshot()
		if len(got) > 0 || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func must(c *logclient.Client, err error) *logclient.Client {
	if err != nil {
		panic(err)
	}
	return c
}

func testExport(t *testing.T, d *logsdtest.Daemon) {
	ctx := t.Context()
	c := newClient(t, d.URL, "exports", "log:read", "log:write")
	in := entries(250, "auth")
	in[7].Message = "quote \" comma , newline \n and CR \r end"
	_, err := c.Ingest(ctx, in, nil)
	require.NoError(t, err)
	for _, format := range []logclient.Format{logclient.CSV, logclient.JSON, logclient.NDJSON} {
		t.Run(string(format), func(t *testing.T) {
			var buf bytes.Buffer
			var last logclient.Progress
			calls := 0
			job, err := c.Export(ctx, format, logquery.Filter{Source: "auth"}, &buf, &logclient.ExportOptions{
				MaxPoll: 200 * time.Millisecond, Progress: func(p logclient.Progress) { last = p; calls++ }})
			require.NoError(t, err)
			assert.Equal(t, logclient.StatusReady, job.Status)
			assert.EqualValues(t, 250, job.EstimatedRecords)
			assert.True(t, last.Done)
			assert.EqualValues(t, 250, last.Records)
			assert.EqualValues(t, buf.Len(), last.Bytes)
			assert.EqualValues(t, buf.Len(), last.Size)
			switch format {
			case logclient.CSV:
				recs, err := csv.NewReader(&buf).ReadAll()
				require.NoError(t, err)
				assert.Len(t, recs, 251)
			case logclient.JSON:
				var arr []map[string]any
				require.NoError(t, json.Unmarshal(buf.Bytes(), &arr))
				assert.Len(t, arr, 250)
			case logclient.NDJSON:
				assert.Equal(t, 250, strings.Count(buf.String(), "\n"))
			}
		})
	}
	t.Run("bad format", func(t *testing.T) {
		_, err := c.Export(ctx, "xml", logquery.Filter{}, &bytes.Buffer{}, nil)
		assert.Equal(t, "format", fieldOf(err))
	})
}

func testStats(t *testing.T, d *logsdtest.Daemon) {
	ctx := t.Context()
	c := newClient(t, d.URL, "stats", "log:read", "log:write")
	_, err := c.Ingest(ctx, entries(9, "auth"), nil)
	require.NoError(t, err)
	st, err := c.Stats(ctx, logquery.Filter{Start: time.Now().Add(-time.Hour)}, "5m")
	require.NoError(t, err)
	assert.EqualValues(t, 9, st.Total)
	assert.EqualValues(t, 3, st.Levels[logs.LevelError])
	assert.Equal(t, "5m", st.Interval)
	var sum int64
	for _, b := range st.Buckets {
		sum += b.Count
	}
	assert.EqualValues(t, 9, sum)
	_, err = c.Stats(ctx, logquery.Filter{}, "7m")
	assert.Equal(t, "interval", fieldOf(err))
}

func TestPrepare(t *testing.T) {
	at := time.Date(2026, 11, 30, 14, 32, 7, 123456789, time.UTC)
	in := make([]logs.Entry, 50)
	for i := range in {
		in[i].CreatedAt = at
	}
	in[10].ID = "019ad1f0-8a3c-7d2e-9c11-3b0f6a2e9d41"
	in[20].CreatedAt = time.Time{}
	require.NoError(t, logclient.Prepare(in))
	prev := ""
	for i, e := range in {
		switch i {
		case 10:
			assert.Equal(t, "019ad1f0-8a3c-7d2e-9c11-3b0f6a2e9d41", e.ID, "an id given is kept")
			continue
		case 20:
			assert.WithinDuration(t, time.Now(), e.CreatedAt, time.Hour, "no time: now")
			continue
		}
		assert.Greater(t, e.ID, prev, "ids of one time increase in order")
		prev = e.ID
		u := e.ID[:8] + e.ID[9:13]
		assert.Equal(t, fmt.Sprintf("%012x", at.UnixMilli()), u, "a UUIDv7 of the entry's time")
		assert.Equal(t, byte('7'), e.ID[14])
	}
}
