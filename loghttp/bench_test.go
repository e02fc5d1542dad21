package loghttp_test

import (
	"fmt"
	"net/http"
	"strings"
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
