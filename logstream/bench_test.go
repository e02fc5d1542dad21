package logstream_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logclient/sse"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/loghttp/jwtauth"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstream"
)

// The live-stream benchmark runs the server (store, Broadcaster, loghttp on
// loopback) in the benchmark process and the clients in a second process
// (this test binary again, which TestMain turns into benchClient), so that the server's
// memory per stream is measured without the clients'. Both share the two
// cores of the machine.
//
//	go test -run '^$' -bench LiveStream -benchtime 1x ./logstream
//
// Environment: LOGSTREAM_BENCH_SECONDS (default 10) is the length of the
// steady ingest; LOGSTREAM_BENCH_STREAMS (default "1000,10000") lists the
// numbers of streams, one sub-benchmark each (a number that needs more
// file descriptors than a process may open is skipped: each process holds
// one per stream); LOGSTREAM_BENCH_HEAPPROFILE names a file for the
// server's heap profile once the streams are open and idle.

const benchSecret = "logstream-bench-secret-0123456789abcdef"

type benchResult struct {
	Streams   int     `json:"streams"`
	Events    int     `json:"events"`
	P50       float64 `json:"p50Ms"`
	P90       float64 `json:"p90Ms"`
	P99       float64 `json:"p99Ms"`
	P999      float64 `json:"p999Ms"`
	Max       float64 `json:"maxMs"`
	OpenError string  `json:"openError,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func percentiles(ds []time.Duration) (p50, p90, p99, p999, maxv time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return at(0.50), at(0.90), at(0.99), at(0.999), ds[len(ds)-1]
}

// TestMain runs the tests, or, in the client process of
// BenchmarkLiveStream (LOGSTREAM_BENCH_URL set), benchClient alone: a
// helper process, not a test that every other run would skip.
func TestMain(m *testing.M) {
	if base := os.Getenv("LOGSTREAM_BENCH_URL"); base != "" {
		if err := benchClient(base); err != nil {
			fmt.Fprintln(os.Stderr, "logstream bench client:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// benchClient is the client process of BenchmarkLiveStream: it opens
// LOGSTREAM_BENCH_CLIENT_STREAMS streams of base, prints READY, records for
// every event the time from the writer's clock reading (metadata "t") to
// its arrival, and prints RESULT with the percentiles when its stdin
// closes.
func benchClient(base string) error {
	n, _ := strconv.Atoi(os.Getenv("LOGSTREAM_BENCH_CLIENT_STREAMS"))
	tenants, _ := strconv.Atoi(os.Getenv("LOGSTREAM_BENCH_CLIENT_TENANTS"))
	tokens := map[string]string{}
	for i := range tenants {
		tenant := fmt.Sprintf("t%03d", i)
		tok, err := jwtauth.Mint([]byte(benchSecret), jwtauth.Grant{Tenant: tenant, Permissions: []string{loghttp.PermRead}, TTL: time.Hour, Subject: "bench"})
		if err != nil {
			return err
		}
		tokens[tenant] = tok
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: n, DisableCompression: true}}
	lat := make([][]time.Duration, n)
	var ready, failed atomic.Int64
	var openErr atomic.Value
	var wg sync.WaitGroup
	for i := range n {
		tenant := fmt.Sprintf("t%03d", i%tenants)
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/logs/stream", nil)
			req.Header.Set("Authorization", "Bearer "+tokens[tenant])
			req.Header.Set("X-Tenant-ID", tenant)
			resp, err := client.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				if err == nil {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
				openErr.Store(err.Error())
				failed.Add(1)
				return
			}
			defer resp.Body.Close()
			r := sse.NewReader(resp.Body)
			for range 2 { // retry, start position
				if _, err := r.Next(); err != nil {
					failed.Add(1)
					return
				}
			}
			ready.Add(1)
			var ev struct {
				Metadata struct {
					T int64 `json:"t"`
				} `json:"metadata"`
			}
			for {
				b, err := r.Next()
				if err != nil {
					return
				}
				if !b.Dispatched || b.Event != "message" {
					continue
				}
				now := time.Now()
				if json.Unmarshal([]byte(b.Data), &ev) == nil && ev.Metadata.T != 0 {
					lat[i] = append(lat[i], now.Sub(time.Unix(0, ev.Metadata.T)))
				}
			}
		})
	}
	deadline := time.Now().Add(5 * time.Minute)
	for ready.Load()+failed.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("READY %d %d\n", ready.Load(), failed.Load())
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	p50, p90, p99, p999, mx := percentiles(all)
	res := benchResult{Streams: int(ready.Load()), Events: len(all), P50: ms(p50), P90: ms(p90), P99: ms(p99), P999: ms(p999), Max: ms(mx)}
	if e, ok := openErr.Load().(string); ok {
		res.OpenError = e
	}
	out, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", out)
	return nil
}

// rss returns the resident set of the process (VmRSS of /proc/self/status;
// 0 where there is none).
func rss() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// fdLimit returns how many files the process may open (its "Max open
// files" of /proc/self/limits; 0 where there is none).
func fdLimit() uint64 {
	data, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// inUse is the memory the process holds for live objects and stacks.
func inUse() (bytes uint64, goroutines int) {
	m := memNow()
	return m.heap + m.stacks, m.goroutines
}

type memFigures struct {
	heap, stacks uint64
	goroutines   int
}

// memNow measures the live heap and the stacks after a full GC.
func memNow() memFigures {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memFigures{heap: ms.HeapAlloc, stacks: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

type benchScenario struct {
	backend string
	streams int
	tenants int
	rate    int // entries per second, each appended alone
}

// benchStreams returns the numbers of streams of LOGSTREAM_BENCH_STREAMS.
func benchStreams(b *testing.B) []int {
	v := os.Getenv("LOGSTREAM_BENCH_STREAMS")
	if v == "" {
		v = "1000,10000"
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("LOGSTREAM_BENCH_STREAMS: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out
}

// BenchmarkLiveStream runs, for each number of streams N: 100 tenants
// (N/100 streams each) at 200 entries/s on both backends, and one tenant
// (every stream gets every entry) on PostgreSQL at 20,000/N entries/s, so
// that it always makes 20,000 deliveries/s.
func BenchmarkLiveStream(b *testing.B) {
	for _, n := range benchStreams(b) {
		for _, sc := range []benchScenario{
			{"postgres", n, 100, 200},
			{"postgres", n, 1, max(1, 20_000/n)},
			{"sqlite", n, 100, 200},
		} {
			name := fmt.Sprintf("streams=%d/%s/tenants=%d/rate=%d", sc.streams, sc.backend, sc.tenants, sc.rate)
			b.Run(name, func(b *testing.B) {
				if lim := fdLimit(); lim > 0 && uint64(sc.streams)+500 > lim {
					b.Skipf("%d streams need more than the %d file descriptors a process may open here", sc.streams, lim)
				}
				for range b.N {
					runLiveStream(b, sc)
				}
			})
		}
	}
}

func runLiveStream(b *testing.B, sc benchScenario) {
	seconds := 10
	if s, err := strconv.Atoi(os.Getenv("LOGSTREAM_BENCH_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	store := openStore(b, sc.backend)
	bc := newBroadcaster(b, store, logstream.Options{MaxStreams: 10_000, MaxStreamsPerTenant: 10_000, Poll: 200 * time.Millisecond})
	v, err := jwtauth.New(&jwtauth.Options{Secret: []byte(benchSecret)})
	require.NoError(b, err)
	srv := httptest.NewServer(loghttp.New(store, &loghttp.Options{Authenticator: v, Stream: bc, Logger: slog.New(slog.DiscardHandler)}))
	b.Cleanup(srv.Close)
	b.Cleanup(func() { _ = bc.Close() })

	memBefore := memNow()
	rssBefore := rss()
	cmd := exec.Command(os.Args[0]) // benchClient, through TestMain
	cmd.Env = append(os.Environ(), "LOGSTREAM_BENCH_URL="+srv.URL, "LOGSTREAM_BENCH_CLIENT_STREAMS="+strconv.Itoa(sc.streams),
		"LOGSTREAM_BENCH_CLIENT_TENANTS="+strconv.Itoa(sc.tenants))
	stdin, err := cmd.StdinPipe()
	require.NoError(b, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(b, err)
	cmd.Stderr = os.Stderr
	require.NoError(b, cmd.Start())
	lines := bufio.NewScanner(stdout)
	lineWith := func(prefix string) string {
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), prefix); ok {
				return rest
			}
		}
		b.Fatalf("the client process printed no %s line", prefix)
		return ""
	}
	readyLine := lineWith("READY ")
	require.True(b, strings.HasSuffix(readyLine, " 0"), "streams opened, failed: %s", readyLine)
	all, _ := bc.Streams("")
	require.Equal(b, sc.streams, all)
	time.Sleep(500 * time.Millisecond)
	memIdle := memNow()
	rssIdle := rss()
	per := func(after, before uint64) float64 { return (float64(after) - float64(before)) / float64(sc.streams) }
	perStream := per(memIdle.heap+memIdle.stacks, memBefore.heap+memBefore.stacks)
	if path := os.Getenv("LOGSTREAM_BENCH_HEAPPROFILE"); path != "" {
		f, err := os.Create(path)
		require.NoError(b, err)
		require.NoError(b, pprof.WriteHeapProfile(f))
		require.NoError(b, f.Close())
	}

	// Steady ingest: one entry per tick, each in its own transaction.
	b.ResetTimer()
	tick := time.NewTicker(time.Second / time.Duration(sc.rate))
	rng := rand.New(rand.NewPCG(1, 2))
	var appendTimes []time.Duration
	deliveries := 0
	end := time.Now().Add(time.Duration(seconds) * time.Second)
	ctx := context.Background()
	for time.Now().Before(end) {
		<-tick.C
		tenant := fmt.Sprintf("t%03d", rng.IntN(sc.tenants))
		t0 := time.Now()
		_, err := store.Append(ctx, tenant, []logs.Entry{{Level: logs.LevelInfo, Source: "bench", Message: "a steady entry",
			Metadata: map[string]any{"t": t0.UnixNano()}}})
		require.NoError(b, err)
		appendTimes = append(appendTimes, time.Since(t0))
		deliveries += sc.streams / sc.tenants
	}
	tick.Stop()
	b.StopTimer()
	time.Sleep(2 * time.Second) // let the last ones arrive
	require.NoError(b, stdin.Close())
	var res benchResult
	require.NoError(b, json.Unmarshal([]byte(lineWith("RESULT ")), &res))
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	require.NoError(b, cmd.Wait())

	a50, _, a99, _, _ := percentiles(appendTimes)
	b.ReportMetric(res.P50, "p50-ms")
	b.ReportMetric(res.P99, "p99-ms")
	b.ReportMetric(perStream/1024, "KB/idle-stream")
	fmt.Printf("live stream %s: %d streams over %d tenants, %d entries/s for %ds on %d CPUs\n",
		sc.backend, sc.streams, sc.tenants, sc.rate, seconds, runtime.NumCPU())
	fmt.Printf("  delivery append->client read: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms (%d of %d deliveries)\n",
		res.P50, res.P90, res.P99, res.P999, res.Max, res.Events, deliveries)
	fmt.Printf("  of which Append (commit): p50 %.2f ms, p99 %.2f ms\n", ms(a50), ms(a99))
	fmt.Printf("  server memory per idle stream (heap+stacks, HTTP connection included): %.1f KB (heap %.1f, stacks %.1f); goroutines %d -> %d; RSS %.0f -> %.0f MB\n",
		perStream/1024, per(memIdle.heap, memBefore.heap)/1024, per(memIdle.stacks, memBefore.stacks)/1024,
		memBefore.goroutines, memIdle.goroutines, float64(rssBefore)/(1<<20), float64(rssIdle)/(1<<20))
	if res.Events < deliveries {
		b.Errorf("lost deliveries: %d of %d", res.Events, deliveries)
	}
}

// BenchmarkIdleSubscription measures the memory of one idle subscription
// of the library, without HTTP.
func BenchmarkIdleSubscription(b *testing.B) {
	store := openStore(b, testdb.Backends()[0])
	bc := newBroadcaster(b, store, logstream.Options{MaxStreams: 100_000, MaxStreamsPerTenant: 100_000})
	const n = 10_000
	before, _ := inUse()
	subs := make([]*logstream.Subscription, 0, n)
	for i := range n {
		s, err := bc.Subscribe(context.Background(), fmt.Sprintf("t%03d", i%100), logquery.Filter{Level: logs.LevelError}, nil)
		require.NoError(b, err)
		subs = append(subs, s)
	}
	after, _ := inUse()
	per := float64(after-before) / n
	b.ReportMetric(per, "B/idle-subscription")
	fmt.Printf("library memory per idle subscription: %.0f bytes\n", per)
	for _, s := range subs {
		_ = s.Close()
	}
}
