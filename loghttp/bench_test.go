package loghttp_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/loghttp"
)

// BenchmarkIngest posts NDJSON batches over loopback HTTP and reports
// entries per second, per backend and batch size.
func BenchmarkIngest(b *testing.B) {
	for _, backend := range testdb.Backends() {
		for _, batch := range []int{1, 100, 1000} {
			b.Run(fmt.Sprintf("%s/batch=%d", backend, batch), func(b *testing.B) {
				// Throughput is measured: the per-tenant rate limits are off.
				e := newEnv(b, openStore(b, backend), &envOptions{opts: loghttp.Options{Limits: loghttp.Limits{RPS: -1, IngestEPS: -1}}})
				tok := token(b, "bench", loghttp.PermWrite)
				var sb strings.Builder
				for i := range batch {
					fmt.Fprintf(&sb, `{"level":"info","source":"auth","message":"user %d signed in from 102.45.67.89","metadata":{"userId":"u%d","ip":"102.45.67.89"}}`+"\n", i, i)
				}
				body := sb.String()
				b.SetBytes(int64(len(body)))
				b.ResetTimer()
				for b.Loop() {
					r := e.do(b, req{method: http.MethodPost, path: "/api/v1/logs", token: tok, tenant: "bench", body: strings.NewReader(body),
						header: http.Header{"Content-Type": {"application/x-ndjson"}}})
					if r.Status != http.StatusCreated {
						b.Fatalf("status %d: %s", r.Status, r.Raw)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}

// BenchmarkList reads the first page of 50 of a tenant with 20,000 entries
// over loopback HTTP, unfiltered and with a search.
func BenchmarkList(b *testing.B) {
	for _, backend := range testdb.Backends() {
		e := newEnv(b, openStore(b, backend), nil)
		var sb strings.Builder
		for i := range 20_000 {
			fmt.Fprintf(&sb, `{"level":"%s","source":"auth","message":"user %d signed in"}`+"\n", []string{"info", "warn", "error"}[i%3], i)
			if (i+1)%5000 == 0 {
				r := e.do(b, req{method: http.MethodPost, path: "/api/v1/logs", token: token(b, "bench", loghttp.PermWrite), tenant: "bench",
					body: strings.NewReader(sb.String()), header: http.Header{"Content-Type": {"application/x-ndjson"}}})
				if r.Status != http.StatusCreated {
					b.Fatalf("seed: status %d: %s", r.Status, r.Raw)
				}
				sb.Reset()
			}
		}
		tok := token(b, "bench", loghttp.PermRead)
		for _, q := range []string{"", "level=error", "search=%22user+1234%22"} {
			b.Run(backend+"/"+q, func(b *testing.B) {
				for b.Loop() {
					r := e.do(b, req{path: "/api/v1/logs?" + q, token: tok, tenant: "bench"})
					if r.Status != http.StatusOK {
						b.Fatalf("status %d: %s", r.Status, r.Raw)
					}
				}
			})
		}
	}
}

// BenchmarkIngestConcurrent posts one entry per request from 64
// goroutines over loopback HTTP (the one-entry ingest of logsbench) and
// reports requests per second, per backend.
func BenchmarkIngestConcurrent(b *testing.B) {
	for _, backend := range testdb.Backends() {
		b.Run(backend, func(b *testing.B) {
			e := newEnv(b, openStore(b, backend), &envOptions{opts: loghttp.Options{Limits: loghttp.Limits{RPS: -1, IngestEPS: -1}}})
			tok := token(b, "bench", loghttp.PermWrite)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
			var n atomic.Int64
			b.SetParallelism(32) // 64 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					body := fmt.Sprintf(`{"level":"info","source":"auth","message":"user %d signed in from 102.45.67.89","metadata":{"userId":"u%d","ip":"102.45.67.89"}}`, i, i)
					req, err := http.NewRequest(http.MethodPost, e.URL+"/api/v1/logs", strings.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					req.Header.Set("Authorization", "Bearer "+tok)
					req.Header.Set("X-Tenant-ID", "bench")
					req.Header.Set("Content-Type", "application/json")
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusCreated {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
		})
	}
}
