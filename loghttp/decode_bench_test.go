package loghttp

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/ithbat/logs"
)

// BenchmarkDecodeEntries decodes a {"logs":[...]} body of 1,000 IAM-like
// entries (what logsbench sends) and encodes their metadata as the store
// does: the CPU an ingest request costs logsd before the database.
func BenchmarkDecodeEntries(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"logs":[`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"level":"info","source":"auth","message":"User jane.doe%d@example.com signed in from 102.45.67.%d with password","createdAt":"2026-11-30T10:00:%02d.%06dZ","metadata":{"userId":"usr_%08d","ip":"102.45.67.%d","userAgent":"Mozilla/5.0 (X11; Linux x86_64)","sessionId":"sess_%012d","mfa":true}}`, i, i%250, i%60, i, i, i%250, i)
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	s := &Server{opts: Options{MaxIngestEntries: 10000}}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		es, err := s.decodeEntries(bytes.NewReader(body), false, "acme")
		if err != nil {
			b.Fatal(err)
		}
		for i := range es {
			if _, err := logs.EncodeMetadata(es[i].Metadata); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "entries/s")
}
