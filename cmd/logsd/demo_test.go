package main

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDemo: logsd demo serves, fills tenant demo, keeps writing, and prints
// a token that reads it and the commands to try.
func TestDemo(t *testing.T) {
	d := start(t, map[string]string{"LOGSD_DATA_DIR": t.TempDir()}, "demo")
	out := d.out.String()
	tok := regexp.MustCompile(`TOKEN=(\S+)`).FindStringSubmatch(out)
	require.NotNil(t, tok, out)
	assert.Contains(t, out, "LOGSD="+d.URL)
	for _, cmd := range []string{"/api/v1/logs?level=error", "/api/v1/logs/stream", "/api/v1/logs/export", "/metrics"} {
		assert.Contains(t, out, cmd)
	}
	assert.NotContains(t, out, "Make a first request", "one greeting, the demo's")

	total := func() float64 {
		status, body := call(t, http.MethodGet, d.URL+"/api/v1/logs?limit=1", tok[1], "demo", "")
		require.Equal(t, 200, status, body)
		return body["data"].(map[string]any)["total"].(float64)
	}
	first := total()
	assert.GreaterOrEqual(t, first, 360.0, "an hour of events at once")
	require.Eventually(t, func() bool { return total() > first }, 30*time.Second, 100*time.Millisecond, "and more as time goes")
	status, body := call(t, http.MethodGet, d.URL+"/api/v1/logs?level=error&source=auth", tok[1], "demo", "")
	require.Equal(t, 200, status)
	assert.Positive(t, body["data"].(map[string]any)["total"])
	require.NoError(t, d.Close(), "the flow stops before the store closes")
}
