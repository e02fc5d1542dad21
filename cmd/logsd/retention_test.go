package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore/bunstore"
)

func TestRetentionConfig(t *testing.T) {
	for _, c := range []struct {
		v    string
		want time.Duration
		bad  bool
	}{{"", 0, false}, {"off", -1, false}, {"720h", 720 * time.Hour, false}, {"1m", 0, true}, {"-5h", 0, true}, {"forever", 0, true}} {
		m := NewMain("logsd", io.Discard, io.Discard)
		err := m.ParseArgs(nil, envOf(map[string]string{"LOGSD_RETENTION": c.v}))
		if c.bad {
			assert.ErrorContains(t, err, "LOGSD_RETENTION", c.v)
			continue
		}
		require.NoError(t, err, c.v)
		assert.Equal(t, c.want, m.Config.Retention, c.v)
	}
}

// TestRetentionPurges: entries older than the retention are gone soon after
// start; newer ones stay.
func TestRetentionPurges(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := bunstore.Open(ctx, "sqlite://"+filepath.Join(dir, "logs.db"), nil)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Append(ctx, "acme", []logs.Entry{
		{Level: logs.LevelInfo, Source: "auth", Message: "old", CreatedAt: time.Now().Add(-40 * 24 * time.Hour)},
		{Level: logs.LevelInfo, Source: "auth", Message: "new"},
	})
	require.NoError(t, err)

	start(t, nil, "--data-dir", dir, "--retention", "720h")
	require.Eventually(t, func() bool {
		page, err := s.Query(ctx, "acme", logquery.Filter{})
		return err == nil && page.Total == 1 && page.Entries[0].Message == "new"
	}, 10*time.Second, 50*time.Millisecond)
}
