package logsink_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logsink"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstore/bunstore"
)

var quiet = slog.New(slog.DiscardHandler)

func open(t *testing.T, url string) *bunstore.Store {
	t.Helper()
	s, err := bunstore.Open(context.Background(), url, &bunstore.Options{NoSearchIndex: true, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func manager(t *testing.T, s *bunstore.Store, o logsink.Options) *logsink.Manager {
	t.Helper()
	if o.Guard == nil {
		o.Guard = &logsink.Guard{AllowPrivate: true}
	}
	o.Logger = quiet
	o.Sync = 100 * time.Millisecond
	if o.Consume.Poll == 0 {
		o.Consume.Poll = 50 * time.Millisecond
	}
	if o.Consume.Retry == 0 {
		o.Consume.Retry = 20 * time.Millisecond
		o.Consume.MaxRetry = 200 * time.Millisecond
	}
	m := logsink.New(s, s, s, &o)
	m.Start()
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func forBackends(t *testing.T, f func(t *testing.T, url string)) {
	for _, b := range testdb.Backends() {
		t.Run(b, func(t *testing.T) { f(t, testdb.URL(t, b)) })
	}
}

// receiver is a webhook receiver on loopback that verifies every
// delivery's signature and records the entries in the order they came.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret atomic.Value // string
	fail   atomic.Int64 // answer 500 to this many deliveries first
	mu     sync.Mutex
	ids    []string
	msgs   []string
	bad    int
	posts  int
	failed []string // webhook-id of the deliveries answered 500
	okIDs  []string // webhook-id of the deliveries taken
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.secret.Store("")
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts++
	if r.fail.Load() > 0 {
		r.fail.Add(-1)
		r.failed = append(r.failed, req.Header.Get("webhook-id"))
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	h := req.Header
	if err := logsink.Verify(r.secret.Load().(string), h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature"),
		body, time.Now(), 5*time.Minute); err != nil || req.Header.Get("Content-Type") != "application/json" {
		r.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var b struct {
		Logs []logs.Entry `json:"logs"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		r.bad++
		return
	}
	r.okIDs = append(r.okIDs, h.Get("webhook-id"))
	for _, e := range b.Logs {
		r.ids = append(r.ids, e.ID)
		r.msgs = append(r.msgs, e.Message)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) received() ([]string, []string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...), append([]string(nil), r.msgs...), r.bad
}

// cursorOrder returns the ids of tenant's entries in cursor order.
func cursorOrder(t *testing.T, s logstore.Store, tenant string) []string {
	var out []string
	c := logstore.Cursor{}
	for {
		recs, err := s.After(context.Background(), tenant, c, 1000)
		require.NoError(t, err)
		if len(recs) == 0 {
			return out
		}
		for _, r := range recs {
			out = append(out, r.Entry.ID)
		}
		c = recs[len(recs)-1].Cursor
	}
}

// TestWebhookDeliversEverythingInOrder: 10,000 entries from 4 concurrent
// writers arrive at a real receiver complete, once each, in cursor order
// (each writer's in the order it wrote them), all signed; the other
// tenant's entries and those the filter leaves out do not arrive.
func TestWebhookDeliversEverythingInOrder(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		m := manager(t, s, logsink.Options{})
		rc := newReceiver(t)
		f, err := logquery.New().Source("auth").Build()
		require.NoError(t, err)
		f.Page, f.Limit = 0, 0
		st, secret, err := m.Create(ctx, "acme", logsink.Config{Type: "webhook", URL: rc.srv.URL + "/hook", Filter: f, BatchSize: 500})
		require.NoError(t, err)
		rc.secret.Store(secret)
		assert.True(t, strings.HasPrefix(secret, "whsec_"))

		const writers, per = 4, 2500
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := 0; i < per; i += 100 {
					es := make([]logs.Entry, 0, 100)
					for j := i; j < i+100; j++ {
						es = append(es, logs.Entry{Level: logs.LevelInfo, Source: "auth", Message: fmt.Sprintf("w%d %05d", w, j)})
					}
					_, err := s.Append(ctx, "acme", es)
					assert.NoError(t, err)
					_, err = s.Append(ctx, "acme", []logs.Entry{{Level: logs.LevelInfo, Source: "other", Message: "filtered out"}})
					assert.NoError(t, err)
					_, err = s.Append(ctx, "globex", []logs.Entry{{Level: logs.LevelInfo, Source: "auth", Message: "another tenant"}})
					assert.NoError(t, err)
				}
			})
		}
		wg.Wait()
		if !assert.Eventually(t, func() bool { ids, _, _ := rc.received(); return len(ids) >= writers*per },
			3*time.Minute, 50*time.Millisecond) {
			ids, _, bad := rc.received()
			got, err := m.Get(ctx, "acme", st.ID)
			t.Fatalf("received %d of %d (bad %d); the stream: %+v %v", len(ids), writers*per, bad, got, err)
		}
		ids, msgs, bad := rc.received()
		assert.Zero(t, bad, "every delivery signed")
		require.Len(t, ids, writers*per, "once each")
		var want []string
		for _, id := range cursorOrder(t, s, "acme") {
			want = append(want, id)
		}
		got := map[string]bool{}
		for _, id := range ids {
			got[id] = true
		}
		var wantMatching []string
		for _, id := range want {
			if got[id] {
				wantMatching = append(wantMatching, id)
			}
		}
		assert.Equal(t, wantMatching, ids, "in cursor order")
		last := map[string]string{}
		for _, msg := range msgs {
			w, n, _ := strings.Cut(msg, " ")
			assert.Less(t, last[w], n, "writer %s in its order", w)
			last[w] = n
		}
		require.Eventually(t, func() bool {
			got, err := m.Get(ctx, "acme", st.ID)
			return err == nil && got.Delivered == writers*per && got.LagEntries == 0
		}, 30*time.Second, 20*time.Millisecond, "delivered counted exactly, no lag")
		got2, err := m.Get(ctx, "acme", st.ID)
		require.NoError(t, err)
		assert.Equal(t, logstore.StreamActive, got2.Status)
		assert.False(t, got2.LastSuccessAt.IsZero())
		assert.Empty(t, got2.Secret, "the secret is never shown again")
		_, err = m.Get(ctx, "globex", st.ID)
		assert.ErrorIs(t, err, logs.ErrNotFound, "another tenant's stream")
	})
}

// TestReceiverOutageLosesNothing: a receiver answering 500 for a while,
// then 200, gets every entry; the stream is failing meanwhile, with the
// error, and active again after.
func TestReceiverOutageLosesNothing(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := open(t, url)
		m := manager(t, s, logsink.Options{})
		rc := newReceiver(t)
		rc.fail.Store(1 << 40)
		st, secret, err := m.Create(ctx, "acme", logsink.Config{Type: "webhook", URL: rc.srv.URL, BatchSize: 7})
		require.NoError(t, err)
		rc.secret.Store(secret)
		for i := range 50 {
			_, err := s.Append(ctx, "acme", []logs.Entry{{Level: logs.LevelWarn, Source: "s", Message: fmt.Sprintf("m%02d", i)}})
			require.NoError(t, err)
		}
		require.Eventually(t, func() bool {
			got, err := m.Get(ctx, "acme", st.ID)
			return err == nil && got.Status == logstore.StreamFailing && got.LastError == "the receiver answered HTTP 500"
		}, 30*time.Second, 20*time.Millisecond)
		rc.fail.Store(0)
		require.Eventually(t, func() bool { ids, _, _ := rc.received(); return len(ids) >= 50 }, 30*time.Second, 20*time.Millisecond)
		_, msgs, bad := rc.received()
		assert.Zero(t, bad)
		want := make([]string, 50)
		for i := range want {
			want[i] = fmt.Sprintf("m%02d", i)
		}
		assert.Equal(t, want, msgs, "nothing lost, nothing twice, in order")
		rc.mu.Lock()
		require.NotEmpty(t, rc.failed)
		assert.Equal(t, rc.failed[len(rc.failed)-1], rc.okIDs[0], "a retried batch keeps its webhook-id")
		assert.Len(t, rc.okIDs, 8, "batches of 7")
		rc.mu.Unlock()
		require.Eventually(t, func() bool {
			got, err := m.Get(ctx, "acme", st.ID)
			return err == nil && got.Status == logstore.StreamActive && got.Delivered == 50
		}, 30*time.Second, 20*time.Millisecond)
	})
}

// TestFailingStreamPausesAndResumes: a destination failing longer than
// PauseAfter is paused with the reason; nothing is sent while paused;
// resuming delivers from where delivery stopped.
func TestFailingStreamPausesAndResumes(t *testing.T) {
	ctx := context.Background()
	s := open(t, testdb.SQLite(t))
	m := manager(t, s, logsink.Options{PauseAfter: 300 * time.Millisecond})
	rc := newReceiver(t)
	rc.fail.Store(1 << 40)
	st, secret, err := m.Create(ctx, "acme", logsink.Config{Type: "webhook", URL: rc.srv.URL})
	require.NoError(t, err)
	rc.secret.Store(secret)
	_, err = s.Append(ctx, "acme", []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: "one"}})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := m.Get(ctx, "acme", st.ID)
		return err == nil && got.Status == logstore.StreamPaused
	}, 30*time.Second, 20*time.Millisecond)
	got, err := m.Get(ctx, "acme", st.ID)
	require.NoError(t, err)
	assert.Contains(t, got.Reason, "HTTP 500")
	assert.EqualValues(t, 1, got.LagEntries)
	rc.fail.Store(0)
	_, err = s.Append(ctx, "acme", []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: "two"}})
	require.NoError(t, err)
	rc.mu.Lock()
	posts := rc.posts
	rc.mu.Unlock()
	time.Sleep(500 * time.Millisecond) // a paused stream sends nothing; give it the chance to
	rc.mu.Lock()
	assert.LessOrEqual(t, rc.posts, posts+1, "at most the batch that was in flight")
	rc.mu.Unlock()
	_, msgs, _ := rc.received()
	assert.Empty(t, msgs)

	active := "active"
	_, err = m.Update(ctx, "acme", st.ID, logsink.Change{Status: &active})
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, msgs, _ := rc.received(); return len(msgs) == 2 }, 30*time.Second, 20*time.Millisecond)
	_, msgs, _ = rc.received()
	assert.Equal(t, []string{"one", "two"}, msgs)
}

// TestRotateSecret: after a rotation deliveries carry signatures of both
// secrets, so a receiver with either verifies them.
func TestRotateSecret(t *testing.T) {
	ctx := context.Background()
	s := open(t, testdb.SQLite(t))
	m := manager(t, s, logsink.Options{})
	rc := newReceiver(t)
	st, old, err := m.Create(ctx, "acme", logsink.Config{Type: "webhook", URL: rc.srv.URL})
	require.NoError(t, err)
	_, fresh, err := m.RotateSecret(ctx, "acme", st.ID)
	require.NoError(t, err)
	assert.NotEqual(t, old, fresh)
	rc.secret.Store(old)
	_, err = s.Append(ctx, "acme", []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: "a"}})
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, msgs, _ := rc.received(); return len(msgs) == 1 }, 30*time.Second, 20*time.Millisecond)
	rc.secret.Store(fresh)
	_, err = s.Append(ctx, "acme", []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: "b"}})
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, msgs, _ := rc.received(); return len(msgs) == 2 }, 30*time.Second, 20*time.Millisecond)
	_, _, bad := rc.received()
	assert.Zero(t, bad)
	_, _, err = m.RotateSecret(ctx, "other", st.ID)
	assert.ErrorIs(t, err, logs.ErrNotFound)
}

// TestBlobDelivery: a blob stream writes one NDJSON object per batch into
// a real bucket (fileblob), gzip when asked, named so that the lexical
// order of the names is the delivery order; it starts from startDate,
// past entries included.
func TestBlobDelivery(t *testing.T) {
	forBackends(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		s := open(t, dbURL)
		dir := t.TempDir()
		allowed := "file://" + filepath.ToSlash(dir) + "/{tenant}?create_dir=1&metadata=skip"
		m := manager(t, s, logsink.Options{Buckets: []string{allowed}})
		past := time.Now().Add(-time.Hour)
		_, err := s.Append(ctx, "acme", []logs.Entry{
			{Level: logs.LevelInfo, Source: "s", Message: "too old", CreatedAt: past.Add(-time.Minute)},
			{Level: logs.LevelInfo, Source: "s", Message: "past 0", CreatedAt: past.Add(time.Minute)},
		})
		require.NoError(t, err)
		u := "file://" + filepath.ToSlash(dir) + "/acme/stream1"
		_, _, err = m.Create(ctx, "acme", logsink.Config{Type: "blob", URL: u, BatchSize: 3, Gzip: true, StartDate: past})
		require.NoError(t, err)
		for i := 1; i <= 10; i++ {
			_, err := s.Append(ctx, "acme", []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: fmt.Sprintf("past %d", i)}})
			require.NoError(t, err)
		}
		b, err := blob.OpenBucket(ctx, "file://"+filepath.ToSlash(dir)+"/acme?create_dir=1&metadata=skip")
		require.NoError(t, err)
		defer b.Close()
		var msgs []string
		require.Eventually(t, func() bool {
			msgs = nil
			var keys []string
			it := b.List(&blob.ListOptions{Prefix: "stream1/"})
			for {
				o, err := it.Next(ctx)
				if err != nil {
					break
				}
				keys = append(keys, o.Key)
			}
			sort.Strings(keys)
			for _, k := range keys {
				assert.True(t, strings.HasSuffix(k, ".ndjson.gz"), k)
				data, err := b.ReadAll(ctx, k)
				require.NoError(t, err)
				zr, err := gzip.NewReader(bytes.NewReader(data))
				require.NoError(t, err)
				sc := bufio.NewScanner(zr)
				for sc.Scan() {
					var e logs.Entry
					require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
					msgs = append(msgs, e.Message)
				}
			}
			return len(msgs) >= 11
		}, 30*time.Second, 50*time.Millisecond)
		want := []string{"past 0"}
		for i := 1; i <= 10; i++ {
			want = append(want, fmt.Sprintf("past %d", i))
		}
		assert.Equal(t, want, msgs, "in order across objects, from startDate")

		_, _, err = m.Create(ctx, "acme", logsink.Config{Type: "blob", URL: "file://" + filepath.ToSlash(dir) + "/globex/x"})
		assert.Equal(t, "url", logs.FieldOf(err), "not inside another tenant's folder")
		_, _, err = m.Create(ctx, "acme", logsink.Config{Type: "blob", URL: u + "/../../globex"})
		assert.Equal(t, "url", logs.FieldOf(err))
		_, _, err = m.Create(ctx, "acme", logsink.Config{Type: "blob", URL: "s3://bucket/x?endpoint=http://169.254.169.254"})
		assert.Equal(t, "url", logs.FieldOf(err))
		_, _, err = m.Create(ctx, "acme", logsink.Config{Type: "blob", URL: u + "?create_dir=1&metadata=skip&x=1"})
		assert.Equal(t, "url", logs.FieldOf(err), "no query of its own")
	})
}

// TestReplicasDeliverOnce: two managers (two replicas) on one database
// deliver each batch once between them.
func TestReplicasDeliverOnce(t *testing.T) {
	forBackends(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		s1, s2 := open(t, dbURL), open(t, dbURL)
		m1 := manager(t, s1, logsink.Options{})
		manager(t, s2, logsink.Options{})
		rc := newReceiver(t)
		_, secret, err := m1.Create(ctx, "acme", logsink.Config{Type: "webhook", URL: rc.srv.URL, BatchSize: 10})
		require.NoError(t, err)
		rc.secret.Store(secret)
		for i := range 20 {
			es := make([]logs.Entry, 10)
			for j := range es {
				es[j] = logs.Entry{Level: logs.LevelInfo, Source: "s", Message: fmt.Sprintf("%03d", i*10+j)}
			}
			_, err := []*bunstore.Store{s1, s2}[i%2].Append(ctx, "acme", es)
			require.NoError(t, err)
		}
		require.Eventually(t, func() bool { ids, _, _ := rc.received(); return len(ids) >= 200 }, 30*time.Second, 20*time.Millisecond)
		time.Sleep(300 * time.Millisecond) // a second delivery would come now
		ids, msgs, bad := rc.received()
		assert.Zero(t, bad)
		assert.Len(t, ids, 200, "each entry once between the replicas")
		assert.True(t, sort.StringsAreSorted(msgs), "in order")
	})
}

// TestHostileConfigs: every bad configuration is a *logs.Error naming the
// field, and a destination on a private address is refused without the
// operator's permission.
func TestHostileConfigs(t *testing.T) {
	ctx := context.Background()
	s := open(t, testdb.SQLite(t))
	strict := logsink.New(s, s, s, &logsink.Options{Logger: quiet})
	t.Cleanup(func() { _ = strict.Close() })
	for _, tc := range []struct {
		c     logsink.Config
		field string
	}{
		{logsink.Config{Type: "webhook", URL: "https://127.0.0.1/hook"}, "url"},
		{logsink.Config{Type: "webhook", URL: "http://example.com/hook"}, "url"},
		{logsink.Config{Type: "webhook", URL: "https://localhost/hook"}, "url"},
		{logsink.Config{Type: "webhook", URL: "https://169.254.169.254/latest/meta-data"}, "url"},
		{logsink.Config{Type: "webhook", URL: "https://[::1]/"}, "url"},
		{logsink.Config{Type: "webhook", URL: "https://[::ffff:10.0.0.1]/"}, "url"},
		{logsink.Config{Type: "webhook", URL: "https://10.1.2.3/"}, "url"},
		{logsink.Config{Type: "webhook", URL: "https://0.0.0.0/"}, "url"},
		{logsink.Config{Type: "webhook", URL: "https://user:pw@example.com/"}, "url"},
		{logsink.Config{Type: "webhook", URL: "https://example.com:99999/"}, "url"},
		{logsink.Config{Type: "webhook", URL: "ftp://example.com/"}, "url"},
		{logsink.Config{Type: "webhook", URL: "https:///nohost"}, "url"},
		{logsink.Config{Type: "webhook", URL: "https://" + strings.Repeat("a", 3000) + ".com/"}, "url"},
		{logsink.Config{Type: "webhook", URL: ""}, "url"},
		{logsink.Config{Type: "webhook", URL: "https://93.184.215.14/", BatchSize: 100000}, "batchSize"},
		{logsink.Config{Type: "webhook", URL: "https://93.184.215.14/", BatchSize: -1}, "batchSize"},
		{logsink.Config{Type: "webhook", URL: "https://93.184.215.14/", Format: "csv"}, "format"},
		{logsink.Config{Type: "sftp", URL: "https://93.184.215.14/"}, "type"},
		{logsink.Config{Type: "blob", URL: "s3://bucket/x"}, "type"},
		{logsink.Config{Type: "webhook", URL: "https://93.184.215.14/", StartDate: time.Now().Add(time.Hour)}, "startDate"},
	} {
		_, _, err := strict.Create(ctx, "acme", tc.c)
		require.Error(t, err, "%+v", tc.c.URL)
		assert.Equal(t, tc.field, logs.FieldOf(err), "%.80s: %v", tc.c.URL, err)
		assert.Equal(t, logs.CodeInvalid, logs.Code(err), "%.80s", tc.c.URL)
	}
	g := &logsink.Guard{}
	for _, host := range []string{"127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
		"::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "64:ff9b::a00:1", "2002:a00:1::", "0.0.0.0", "255.255.255.255", "224.0.0.1"} {
		u, _ := url.Parse("https://" + bracket(host) + "/")
		assert.ErrorIs(t, g.CheckURL(ctx, u), logsink.ErrRefused, host)
	}
	u, _ := url.Parse("https://93.184.215.14/")
	assert.NoError(t, g.CheckURL(ctx, u), "a public address")
}

func bracket(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// TestGuardAfterResolutionAndRedirects: without the operator's
// permission, a delivery never reaches a private address: not a name
// that resolves to one at delivery time, not through a redirect.
func TestGuardAfterResolutionAndRedirects(t *testing.T) {
	ctx := context.Background()
	s := open(t, testdb.SQLite(t))
	var hits atomic.Int64
	inner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer inner.Close()
	// A stream stored as if it had passed the check (a name that resolved
	// to a public address then, loopback now: DNS rebinding).
	now := time.Now().UTC()
	ls := logstore.LogStream{ID: "ls-rebind", TenantID: "acme", Type: "webhook", URL: strings.Replace(inner.URL, "127.0.0.1", "localhost", 1),
		BatchSize: 10, Secret: logsink.NewSecret(), Status: logstore.StreamActive, CreatedAt: now, UpdatedAt: now}
	require.NoError(t, s.InsertLogStream(ctx, ls))
	m := manager(t, s, logsink.Options{Guard: &logsink.Guard{}})
	_, err := s.Append(ctx, "acme", []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: "x"}})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := m.Get(ctx, "acme", ls.ID)
		return err == nil && strings.Contains(got.LastError, "loopback")
	}, 30*time.Second, 20*time.Millisecond)
	assert.Zero(t, hits.Load(), "no request reached the loopback receiver")

	// A redirect is followed only when it keeps the POST (307, 308), and
	// its connection goes through the same guarded dialer: with only the
	// first hop's address allowed (127.0.0.1), a 307 to 127.0.0.2 is
	// refused when it connects.
	inner2 := httptest.NewUnstartedServer(inner.Config.Handler)
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI's machine has all of 127.0.0.0/8 on loopback (Linux):", err)
		}
		t.Skip("no 127.0.0.2 on this machine:", err)
	}
	inner2.Listener = l
	inner2.Start()
	defer inner2.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inner2.URL, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	downgrade := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inner.URL, http.StatusFound) // 302 turns the POST into a GET
	}))
	defer downgrade.Close()
	// A database of its own: the strict manager above would run these
	// streams too, and refuse them for another reason.
	s2 := open(t, testdb.SQLite(t))
	ms := manager(t, s2, logsink.Options{Guard: &logsink.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, AllowHTTP: true}})
	for i, tc := range []struct{ url, want string }{
		{downgrade.URL, "turns the POST into a GET"},
		{redirector.URL, "127.0.0.2 is a loopback address"},
	} {
		tenant := fmt.Sprintf("t%d", i)
		st, _, err := ms.Create(ctx, tenant, logsink.Config{Type: "webhook", URL: tc.url})
		require.NoError(t, err)
		_, err = s2.Append(ctx, tenant, []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: "x"}})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			got, err := ms.Get(ctx, tenant, st.ID)
			return err == nil && strings.Contains(got.LastError, tc.want)
		}, 30*time.Second, 20*time.Millisecond, tc.url)
	}
	_, _, err = ms.Create(ctx, "t9", logsink.Config{Type: "webhook", URL: inner2.URL})
	assert.Equal(t, "url", logs.FieldOf(err), "127.0.0.2 is not allowed")
	assert.Zero(t, hits.Load(), "the redirect was not followed")
}

// TestLargeBatchInParts: a batch whose body would pass MaxDeliveryBytes
// goes in several requests, in order, each signed.
func TestLargeBatchInParts(t *testing.T) {
	ctx := context.Background()
	s := open(t, testdb.SQLite(t))
	m := manager(t, s, logsink.Options{})
	rc := newReceiver(t)
	_, secret, err := m.Create(ctx, "acme", logsink.Config{Type: "webhook", URL: rc.srv.URL, BatchSize: 1000})
	require.NoError(t, err)
	rc.secret.Store(secret)
	big := strings.Repeat("x", 60<<10)
	es := make([]logs.Entry, 150) // 150 x 60 KiB: 9 MiB, three parts
	for i := range es {
		es[i] = logs.Entry{Level: logs.LevelInfo, Source: "s", Message: fmt.Sprintf("%03d %s", i, big)}
	}
	_, err = s.Append(ctx, "acme", es)
	require.NoError(t, err)
	require.Eventually(t, func() bool { ids, _, _ := rc.received(); return len(ids) >= 150 }, 30*time.Second, 20*time.Millisecond)
	_, msgs, bad := rc.received()
	assert.Zero(t, bad)
	require.Len(t, msgs, 150)
	for i, msg := range msgs {
		assert.True(t, strings.HasPrefix(msg, fmt.Sprintf("%03d ", i)), "in order")
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	assert.GreaterOrEqual(t, len(rc.okIDs), 3, "in parts of at most 4 MiB")
	seen := map[string]bool{}
	for _, id := range rc.okIDs {
		assert.False(t, seen[id], "each part its own webhook-id")
		seen[id] = true
	}
}
