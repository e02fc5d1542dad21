package logexport_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logexport"
	"github.com/ithbat/logs/logquery"
)

// TestMemoryFlat exports a tenant whose file is several times larger than
// the heap may grow, and samples the heap while the worker writes.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 150 MB export")
	}
	if raceEnabled {
		t.Skip("the race detector makes it slow and its heap figures meaningless")
	}
	ev := newEnv(t, "sqlite", "", nil, false)
	ctx := context.Background()
	const rows = 50_000
	msg := strings.Repeat("a long message to make a large file; ", 80) // ~3 KB
	base := time.Now().Add(-time.Hour)
	batch := make([]logs.Entry, 0, 1000)
	for i := range rows {
		batch = append(batch, logs.Entry{Level: logs.LevelInfo, Source: "auth", Message: msg,
			Metadata: map[string]any{"i": i}, CreatedAt: base.Add(-time.Duration(i) * time.Millisecond)})
		if len(batch) == cap(batch) {
			_, err := ev.store.Append(ctx, tenantA, batch)
			require.NoError(t, err)
			batch = batch[:0]
		}
	}

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	baseline := ms.HeapAlloc
	var peak uint64
	logexport.SetRowHook(ev.exp, func(_ context.Context, n int64) {
		if n%2000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	})
	j, err := ev.exp.Submit(ctx, tenantA, logexport.FormatCSV, logquery.Filter{})
	require.NoError(t, err)
	ran, err := logexport.RunOnce(ctx, ev.exp)
	require.NoError(t, err)
	require.True(t, ran)
	j, err = ev.exp.Get(ctx, tenantA, j.ID)
	require.NoError(t, err)
	require.Equal(t, logexport.StatusReady, j.Status, j.Error)
	require.EqualValues(t, rows, j.Records)
	attrs, err := ev.bucket.Attributes(ctx, logexport.BlobKey(tenantA, j.ID, logexport.FormatCSV))
	require.NoError(t, err)
	growth := int64(peak) - int64(baseline)
	t.Logf("file %d MB, heap baseline %d MB, peak %d MB (growth %d MB)",
		attrs.Size>>20, baseline>>20, peak>>20, growth>>20)
	require.Greater(t, attrs.Size, int64(140<<20))
	assert.Less(t, growth, int64(48<<20), "heap grows with the export")
}
