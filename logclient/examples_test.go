package logclient_test

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/logsdtest"
	"github.com/ithbat/logs/internal/testdb"
)

// TestExamplePrograms builds the programs of examples/ that talk to a
// logsd and runs them against a real one: a tail that survives a logsd
// restart, and an export downloaded to a file.
func TestExamplePrograms(t *testing.T) {
	tail := logsdtest.BinaryIn(t, "examples", "./tail")
	export := logsdtest.BinaryIn(t, "examples", "./export")
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			d := logsdtest.Start(t, backend, nil)
			token := logsdtest.Token(t, "acme", "log:read", "log:write")
			w := newClient(t, d.URL, "acme", "log:read", "log:write")
			write := func(from, to int) {
				var in []logs.Entry
				for i := from; i < to; i++ {
					in = append(in, logs.Entry{Level: logs.LevelError, Source: "auth", Message: fmt.Sprintf("e%02d", i)})
				}
				_, err := w.Ingest(t.Context(), in, nil)
				require.NoError(t, err)
			}

			t.Run("tail across a restart", func(t *testing.T) {
				cmd := exec.CommandContext(t.Context(), tail, "-url", d.URL, "-token", token, "-tenant", "acme", "-level", "error", "-n", "6")
				stdout, err := cmd.StdoutPipe()
				require.NoError(t, err)
				var stderr logsdtest.SyncBuffer
				cmd.Stderr = &stderr
				require.NoError(t, cmd.Start())
				var mu sync.Mutex
				var lines []string
				done := make(chan struct{})
				go func() {
					defer close(done)
					sc := bufio.NewScanner(stdout)
					for sc.Scan() {
						mu.Lock()
						lines = append(lines, sc.Text())
						mu.Unlock()
					}
				}()
				count := func() int { mu.Lock(); defer mu.Unlock(); return len(lines) }
				// Write until the tail has connected and printed one.
				next := 0
				for count() == 0 && next < 600 {
					write(next, next+1)
					next++
					time.Sleep(100 * time.Millisecond)
				}
				require.Positive(t, count(), "the tail printed nothing: %s", stderr.String())
				mu.Lock()
				first := lines[0]
				mu.Unlock()
				var k int
				_, err = fmt.Sscanf(first[strings.LastIndex(first, " ")+1:], "e%02d", &k)
				require.NoError(t, err)
				for count() < next-k {
					time.Sleep(20 * time.Millisecond)
				}
				d.Restart(t)
				write(next, next+6)
				<-done
				require.NoError(t, cmd.Wait(), stderr.String())
				var msgs, want []string
				for _, l := range lines {
					msgs = append(msgs, l[strings.LastIndex(l, " ")+1:])
				}
				for i := k; i < k+6; i++ {
					want = append(want, fmt.Sprintf("e%02d", i))
				}
				assert.Equal(t, want, msgs, "six entries once each, across the restart")
				assert.Contains(t, stderr.String(), "reconnecting in")
				assert.Contains(t, stderr.String(), "last event id: ")
			})

			t.Run("export to a file", func(t *testing.T) {
				file := filepath.Join(t.TempDir(), "auth.csv")
				out, err := exec.CommandContext(t.Context(), export, "-url", d.URL, "-token", token, "-tenant", "acme",
					"-source", "auth", "-o", file).CombinedOutput()
				require.NoError(t, err, string(out))
				f, err := os.Open(file)
				require.NoError(t, err)
				defer f.Close()
				recs, err := csv.NewReader(f).ReadAll()
				require.NoError(t, err)
				assert.Contains(t, string(out), fmt.Sprintf("wrote %d records to %s", len(recs)-1, file))
				assert.Greater(t, len(recs), 6)
			})
		})
	}
}
