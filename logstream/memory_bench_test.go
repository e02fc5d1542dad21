package logstream_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/loghttp/jwtauth"
	"github.com/ithbat/logs/logstream"
)

// BenchmarkStalledReadersMemory is the scenario of a report that the
// server's memory stays high after streams whose clients never read: 20
// such streams are open while 10,000 entries of 4 KB are ingested over
// HTTP (batches of 100), then the clients close their connections. It
// prints the server's memory at each step, after a full GC: the live heap,
// what the runtime holds from the OS but does not use (free heap pages not
// yet returned), and the process's RSS; then RSS after
// debug.FreeOSMemory.
//
//	go test -run '^$' -bench StalledReadersMemory -benchtime 1x ./logstream
//
// LOGSTREAM_BENCH_HEAPPROFILE names a file for the heap profile taken
// after the streams closed (before FreeOSMemory);
// LOGSTREAM_BENCH_SCAVENGE_SECONDS (default 0) waits that long after the
// streams closed (and a GC), and reads the figures again without a GC or
// FreeOSMemory, to show what the runtime's background scavenger returns by
// itself.
func BenchmarkStalledReadersMemory(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			for range b.N {
				runStalledReaders(b, backend)
			}
		})
	}
}

type memPoint struct {
	live, heapFree, heapReleased, total, stacks, rss uint64
}

// memPointNow reads the runtime's metrics after a full GC, and VmRSS.
func memPointNow() memPoint {
	runtime.GC()
	runtime.GC()
	return memPointNoGC()
}

// memPointNoGC reads the runtime's metrics as they are, and VmRSS.
func memPointNoGC() memPoint {
	samples := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
	}
	metrics.Read(samples)
	v := func(i int) uint64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return samples[i].Value.Uint64()
	}
	return memPoint{live: v(0), heapFree: v(1), heapReleased: v(2), total: v(3), stacks: v(4), rss: rss()}
}

func (m memPoint) String() string {
	mb := func(n uint64) float64 { return float64(n) / (1 << 20) }
	return fmt.Sprintf("live heap %6.1f MB, free heap kept %6.1f MB, released %6.1f MB, runtime total %6.1f MB (stacks %.1f), RSS %6.1f MB",
		mb(m.live), mb(m.heapFree), mb(m.heapReleased), mb(m.total-m.heapReleased), mb(m.stacks), mb(m.rss))
}

func runStalledReaders(b *testing.B, backend string) {
	const (
		readers = 20
		entries = 10_000
		batch   = 100
		size    = 4 << 10
	)
	store := openStore(b, backend)
	bc := newBroadcaster(b, store, logstream.Options{Poll: 200 * time.Millisecond}) // otherwise logsd's defaults
	v, err := jwtauth.New(&jwtauth.Options{Secret: []byte(benchSecret)})
	require.NoError(b, err)
	srv := httptest.NewServer(loghttp.New(store, &loghttp.Options{Authenticator: v, Stream: bc, Logger: slog.New(slog.DiscardHandler)}))
	b.Cleanup(srv.Close)
	b.Cleanup(func() { _ = bc.Close() })
	tok, err := jwtauth.Mint([]byte(benchSecret), jwtauth.Grant{Tenant: "acme", Permissions: []string{loghttp.PermRead, loghttp.PermWrite},
		TTL: time.Hour, Subject: "bench"})
	require.NoError(b, err)

	// A first request of each kind, so that what is made once per process
	// (pools, caches, the database's connections) is in the baseline.
	client := &http.Client{}
	post := func(body []byte) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/logs", bytes.NewReader(body))
		require.NoError(b, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Tenant-ID", "acme")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		require.NoError(b, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		require.Equal(b, http.StatusCreated, resp.StatusCode)
	}
	msg := strings.Repeat("m", size)
	body := func(n, from int) []byte {
		type entry struct {
			Level   string `json:"level"`
			Source  string `json:"source"`
			Message string `json:"message"`
		}
		es := make([]entry, n)
		for i := range es {
			es[i] = entry{"info", "bulk", strconv.Itoa(from+i) + " " + msg}
		}
		data, err := json.Marshal(map[string]any{"logs": es})
		require.NoError(b, err)
		return data
	}
	post(body(1, -1))
	client.CloseIdleConnections()
	start := memPointNow()

	conns := make([]net.Conn, readers)
	for i := range conns {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		require.NoError(b, err)
		_, err = fmt.Fprintf(c, "GET /api/v1/logs/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-Tenant-ID: acme\r\n\r\n", tok)
		require.NoError(b, err)
		conns[i] = c // never read
	}
	require.Eventually(b, func() bool { n, _ := bc.Streams(""); return n == readers }, time.Minute, 10*time.Millisecond)

	b.ResetTimer()
	for i := 0; i < entries; i += batch {
		post(body(batch, i))
	}
	b.StopTimer()
	client.CloseIdleConnections()
	time.Sleep(time.Second) // the streams take what they can
	open := memPointNow()

	for _, c := range conns {
		require.NoError(b, c.Close())
	}
	require.Eventually(b, func() bool { n, _ := bc.Streams(""); return n == 0 }, time.Minute, 10*time.Millisecond)
	// The idle tailer empties its ring of recent entries.
	require.Eventually(b, func() bool { return bc.RecentLen() == 0 }, time.Minute, 10*time.Millisecond)
	closed := memPointNow()
	if path := os.Getenv("LOGSTREAM_BENCH_HEAPPROFILE"); path != "" {
		f, err := os.Create(path)
		require.NoError(b, err)
		require.NoError(b, pprof.WriteHeapProfile(f))
		require.NoError(b, f.Close())
	}
	var scavenged memPoint
	if s, _ := strconv.Atoi(os.Getenv("LOGSTREAM_BENCH_SCAVENGE_SECONDS")); s > 0 {
		time.Sleep(time.Duration(s) * time.Second)
		scavenged = memPointNoGC()
	}
	debug.FreeOSMemory()
	freed := memPointNow()

	fmt.Printf("stalled readers, %s: %d streams that never read, %d entries of %d KB ingested\n", backend, readers, entries, size>>10)
	fmt.Printf("  at start:             %s\n", start)
	fmt.Printf("  streams open, after:  %s\n", open)
	fmt.Printf("  streams closed:       %s\n", closed)
	if scavenged.rss != 0 {
		fmt.Printf("  %-20s  %s\n", os.Getenv("LOGSTREAM_BENCH_SCAVENGE_SECONDS")+"s later, no GC:", scavenged)
	}
	fmt.Printf("  after FreeOSMemory:   %s\n", freed)
	b.ReportMetric(float64(closed.live)/(1<<20), "MB-live-after-close")
	b.ReportMetric(float64(closed.rss)/(1<<20), "MB-RSS-after-close")
	b.ReportMetric(float64(freed.rss)/(1<<20), "MB-RSS-after-FreeOSMemory")
}
