package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
)

// The table on a terminal: levels coloured, and nothing of an entry can
// move the cursor or change the terminal (escape sequences, line breaks).
func TestTableOnTerminal(t *testing.T) {
	var b strings.Builder
	p, err := newPrinter("table", &b, true, "table")
	require.NoError(t, err)
	at := time.Date(2026, 11, 30, 14, 32, 7, 0, time.UTC)
	require.NoError(t, p.entry(logs.Entry{Level: logs.LevelError, Source: "au\x1b[2Jth", Message: "line1\nline2\r\x1b]0;pwned\x07",
		Metadata: map[string]any{"k\x1b[1m": "v\x9b31m", "n": 3, "s": "a b"}, CreatedAt: at}))
	require.NoError(t, p.entry(logs.Entry{Level: logs.LevelWarn, Source: "s", Message: "m", CreatedAt: at}))
	out := b.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 3, "one line an entry: %q", out)
	assert.Contains(t, lines[1], "\x1b[31merror\x1b[0m")
	assert.Contains(t, lines[2], "\x1b[33mwarn \x1b[0m")
	assert.Contains(t, lines[1], "line1⏎line2")
	assert.Contains(t, lines[1], `n=3 s="a b"`)
	for _, l := range lines {
		plain := strings.NewReplacer("\x1b[31m", "", "\x1b[33m", "", "\x1b[0m", "", "\x1b[2m", "").Replace(l)
		assert.NotContains(t, plain, "\x1b", "no escape of an entry reaches the terminal: %q", l)
		assert.NotContains(t, plain, "\x07")
		assert.NotContains(t, plain, "\u009b")
		assert.NotContains(t, plain, "\r")
	}
}
