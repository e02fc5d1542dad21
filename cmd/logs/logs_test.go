package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/logsdtest"
	"github.com/ithbat/logs/internal/testdb"
)

func TestMain(m *testing.M) { logsdtest.Main(m) }

// cli runs the built logs binary with LOGS_URL, LOGS_TOKEN, LOGS_TENANT.
type cli struct {
	bin, url, token, tenant string
}

func (c cli) env(extra ...string) []string {
	env := append(os.Environ(), "LOGS_URL="+c.url, "LOGS_TOKEN="+c.token, "LOGS_TENANT="+c.tenant, "NO_COLOR=")
	return append(env, extra...)
}

// run runs the command to its end: stdout, stderr and the exit code.
func (c cli) run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), c.bin, args...)
	cmd.Env = c.env()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errOut.String(), code
}

// ndjson is n entry lines of source, every third an error.
func ndjson(n int, source string, from int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		lv := "info"
		if i%3 == 0 {
			lv = "error"
		}
		fmt.Fprintf(&b, `{"level":%q,"source":%q,"message":"event %03d","metadata":{"i":%d,"ip":"10.0.0.%d"}}`+"\n", lv, source, i, i, i%250)
	}
	return b.String()
}

func writeFile(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "in.ndjson")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestCLI(t *testing.T) {
	bin := logsdtest.Binary(t, "logs")
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			d := logsdtest.Start(t, backend, nil)
			c := cli{bin: bin, url: d.URL, token: logsdtest.Token(t, "acme", "log:read", "log:write"), tenant: "acme"}
			t.Run("ingest and query", func(t *testing.T) { testQuery(t, c) })
			t.Run("exit codes", func(t *testing.T) { testExitCodes(t, c) })
			t.Run("bad input", func(t *testing.T) { testBadInput(t, c) })
			t.Run("export", func(t *testing.T) { testExport(t, c) })
			t.Run("stats", func(t *testing.T) { testStats(t, c) })
			t.Run("tail", func(t *testing.T) { testTail(t, c, d) })
		})
	}
}

func testQuery(t *testing.T, c cli) {
	c.tenant = "q"
	c.token = logsdtest.Token(t, "q", "log:read", "log:write")
	_, stderr, code := c.run(t, "", "ingest", "--batch", "50", writeFile(t, ndjson(120, "auth", 0)))
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "stored 120 entries\n", stderr)
	_, stderr, code = c.run(t, "\xef\xbb\xbf"+strings.ReplaceAll(ndjson(3, "scim", 200), "\n", "\r\n"), "ingest", "-")
	require.Equal(t, 0, code, stderr)

	out, stderr, code := c.run(t, "", "query", "--level", "error", "--source", "auth", "-o", "jsonl")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Len(t, lines, 40)
	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	assert.Equal(t, "event 117", first["message"])
	keys := make([]string, 0, len(first))
	for k := range first {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"id", "tenantId", "level", "source", "message", "metadata", "createdAt"}, keys, "the API's fields")
	assert.Empty(t, stderr, "no footer outside the table")

	out, _, code = c.run(t, "", "query", "--all", "--source", "auth", "-o", "json")
	require.Equal(t, 0, code)
	var arr []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &arr))
	assert.Len(t, arr, 120)

	out, _, code = c.run(t, "", "query", "--limit", "7", "--search", "event", "-o", "csv")
	require.Equal(t, 0, code)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 8)
	assert.Equal(t, []string{"id", "tenantId", "level", "source", "message", "metadata", "createdAt"}, recs[0])
	assert.Equal(t, "q", recs[1][1])

	out, stderr, code = c.run(t, "", "query", "--limit", "5")
	require.Equal(t, 0, code)
	rows := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, rows, 6)
	col := strings.Index(rows[0], "MESSAGE")
	for _, r := range rows[1:] {
		assert.Equal(t, "event", r[col:col+5], "aligned: %q", r)
		assert.NotContains(t, r, "\x1b[", "no colour outside a terminal")
	}
	assert.Contains(t, rows[1], "ip=10.0.0.")
	assert.Regexp(t, `^5 of 123 entries \(page 1\); next page: --cursor \S+`, stderr)
	cursor := strings.Fields(stderr[strings.Index(stderr, "--cursor"):])[1]
	cursor = strings.TrimSuffix(cursor, ",")
	out, _, code = c.run(t, "", "query", "--limit", "5", "--cursor", cursor, "-o", "jsonl")
	require.Equal(t, 0, code)
	assert.Contains(t, strings.Split(out, "\n")[0], "event 117", "the next page")

	out, _, code = c.run(t, "", "query", "--limit", "600", "-o", "jsonl")
	require.Equal(t, 0, code)
	assert.Equal(t, 123, strings.Count(out, "\n"), "a limit beyond a page follows the cursor")
}

func testExitCodes(t *testing.T, c cli) {
	for _, tc := range []struct {
		name   string
		c      cli
		args   []string
		code   int
		stderr string
	}{
		{"no command", c, nil, 1, "Usage: logs"},
		{"unknown command", c, []string{"frob"}, 1, `unknown command "frob"`},
		{"unknown flag", c, []string{"query", "--levle", "error"}, 1, "-levle"},
		{"bad level", c, []string{"query", "--level", "fatal"}, 1, "--level must be info, warn or error"},
		{"since and from", c, []string{"query", "--since", "1h", "--from", "2026-01-01"}, 1, "not both"},
		{"bad from", c, []string{"query", "--from", "yesterday"}, 1, "--from must be"},
		{"limit and all", c, []string{"query", "--limit", "5", "--all"}, 1, "not both"},
		{"bad output", c, []string{"query", "-o", "yaml"}, 1, "-o must be one of"},
		{"stray argument", c, []string{"query", "error"}, 1, `unexpected argument "error"`},
		{"no token", cli{bin: c.bin, url: c.url, tenant: "acme"}, []string{"query"}, 1, "LOGS_TOKEN"},
		{"bad url", cli{bin: c.bin, url: "localhost:8080", token: "t", tenant: "acme"}, []string{"query"}, 1, "http://"},
		{"refused: another tenant", cli{bin: c.bin, url: c.url, token: c.token, tenant: "other"}, []string{"query"}, 2, "X-Tenant-ID"},
		{"refused: a bad token", cli{bin: c.bin, url: c.url, token: "nope", tenant: "acme"}, []string{"query"}, 2, "401 unauthenticated"},
		{"refused: a bad cursor", c, []string{"query", "--cursor", "abc"}, 2, "cursor:"},
		{"refused: read only", cli{bin: c.bin, url: c.url, token: logsdtest.Token(t, "acme"), tenant: "acme"}, []string{"ingest", "-"}, 2, "403"},
		{"unavailable", cli{bin: c.bin, url: "http://127.0.0.1:1", token: "t", tenant: "acme"}, []string{"query"}, 3, "unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdin := ""
			if tc.args != nil && tc.args[0] == "ingest" {
				stdin = ndjson(1, "x", 0)
			}
			out, stderr, code := tc.c.run(t, stdin, tc.args...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.stderr)
			assert.Empty(t, out)
		})
	}
	out, _, code := c.run(t, "", "version")
	assert.Equal(t, 0, code)
	assert.NotEmpty(t, out)
}

func testBadInput(t *testing.T, c cli) {
	c.tenant = "bad"
	c.token = logsdtest.Token(t, "bad", "log:read", "log:write")
	total := func() int {
		out, _, code := c.run(t, "", "query", "--all", "-o", "jsonl")
		require.Equal(t, 0, code)
		return strings.Count(out, "\n")
	}
	good := ndjson(1, "x", 0)
	for _, tc := range []struct {
		name, in string
		code     int
		stderr   string
	}{
		{"not JSON", good + good + "{nope\n", 1, "line 3: is not valid JSON"},
		{"not an object", good + "[1,2]\n", 1, "line 2: is not a JSON object"},
		{"a typo of a field", good + `{"level":"info","source":"s","mesage":"m"}` + "\n", 1, `line 2: "mesage" is not a field`},
		{"two values on a line", good + `{"level":"info","source":"s","message":"m"} {}` + "\n", 1, "line 2: holds more than one JSON value"},
		{"metadata not an object", `{"level":"info","source":"s","message":"m","metadata":[1]}` + "\n", 1, "line 1: metadata must be a JSON object"},
		{"bad time", `{"level":"info","source":"s","message":"m","createdAt":"today"}` + "\n", 1, "line 1: createdAt must be an RFC 3339 time"},
		{"cut inside an object", good + `{"level":"info"`, 1, "line 2: is not valid JSON"},
		{"a long line", good + `{"level":"info","source":"s","message":"` + strings.Repeat("x", maxLine) + `"}` + "\n", 1, "line 2 is longer than"},
		{"refused by the server", good + "\n\n" + `{"level":"fatal","source":"s","message":"m"}` + "\n", 2, "line 4: level: must be one of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := total()
			_, stderr, code := c.run(t, "", "ingest", writeFile(t, tc.in))
			assert.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.stderr)
			assert.Contains(t, stderr, "nothing was stored")
			assert.Equal(t, before, total(), "nothing was stored")
		})
	}
	t.Run("stdin stops at a bad line and says what was stored", func(t *testing.T) {
		before := total()
		_, stderr, code := c.run(t, good+good+good+"{nope\n"+good, "ingest", "--batch", "2")
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "line 4: is not valid JSON")
		assert.Contains(t, stderr, "the 2 entries up to line 2 were stored, nothing after: send the rest from line 3 on (tail -n +3)")
		assert.Equal(t, before+2, total())
	})
	t.Run("a missing file", func(t *testing.T) {
		_, stderr, code := c.run(t, "", "ingest", "/nonexistent/file.ndjson")
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "no such file")
	})
}

func testExport(t *testing.T, c cli) {
	c.tenant = "exp"
	c.token = logsdtest.Token(t, "exp", "log:read", "log:write")
	_, _, code := c.run(t, ndjson(90, "auth", 0)+ndjson(10, "idp", 0), "ingest")
	require.Equal(t, 0, code)
	dir := t.TempDir()
	file := filepath.Join(dir, "auth.csv")
	_, stderr, code := c.run(t, "", "export", "--format", "csv", "--source", "auth", "-o", file, "--progress", "always")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `export exp-\S+: 90 records`, stderr)
	assert.Contains(t, stderr, "100%  90/90 records")
	assert.Contains(t, stderr, "wrote 90 records to "+file)
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	assert.Len(t, recs, 91)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no partial file is left")

	_, stderr, code = c.run(t, "", "export", "--format", "ndjson", "-o", file)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "exists; give --force")
	out, stderr, code := c.run(t, "", "export", "--format", "ndjson", "--level", "error", "-o", "-")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 34, strings.Count(out, "\n"))
	assert.NotContains(t, stderr, "%", "no progress bar when stderr is not a terminal")
	_, stderr, code = c.run(t, "", "export", "--format", "xml", "-o", file)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--format must be")
}

func testStats(t *testing.T, c cli) {
	c.tenant = "st"
	c.token = logsdtest.Token(t, "st", "log:read", "log:write")
	_, _, code := c.run(t, ndjson(30, "auth", 0)+ndjson(6, "idp", 0), "ingest")
	require.Equal(t, 0, code)
	out, stderr, code := c.run(t, "", "stats", "--since", "1h", "--interval", "5m")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Equal(t, "36 entries: 12 error, 0 warn, 24 info (interval 5m)", lines[0])
	assert.Equal(t, "sources: auth 30, idp 6", lines[1])
	last := lines[len(lines)-1]
	assert.Contains(t, last, strings.Repeat("█", 50)+" 36", "the newest bucket, the longest bar")
	assert.GreaterOrEqual(t, len(lines), 2+12)
	out, _, code = c.run(t, "", "stats", "--since", "1h", "-o", "json")
	require.Equal(t, 0, code)
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	assert.EqualValues(t, 36, st["total"])
	_, stderr, code = c.run(t, "", "stats", "--interval", "7m")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "interval:")
}

// lineReader collects the lines a process prints.
type lineReader struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineReader) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, sc.Text())
		l.mu.Unlock()
	}
}

func (l *lineReader) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		l.mu.Lock()
		got := append([]string(nil), l.lines...)
		l.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lines after a minute: %q", len(got), n, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail starts logs tail with args; stop sends SIGINT and returns stderr.
func (c cli) tail(t *testing.T, args ...string) (*lineReader, func() (string, int)) {
	cmd := exec.Command(c.bin, append([]string{"tail", "-o", "jsonl"}, args...)...)
	cmd.Env = c.env()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	lr := &lineReader{}
	done := make(chan struct{})
	go func() { lr.read(stdout); close(done) }()
	stopped := false
	stop := func() (string, int) {
		stopped = true
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		<-done
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return stderr.String(), code
	}
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return lr, stop
}

func messagesOf(t *testing.T, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		var e map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &e), l)
		out[i] = e["message"].(string)
	}
	return out
}

func testTail(t *testing.T, c cli, d *logsdtest.Daemon) {
	c.tenant = "tail"
	c.token = logsdtest.Token(t, "tail", "log:read", "log:write")
	_, _, code := c.run(t, ndjson(3, "auth", 0), "ingest")
	require.Equal(t, 0, code)

	// --from-start: what there is, oldest first, then what comes.
	lr, stop := c.tail(t, "--from-start", "--source", "auth")
	assert.Equal(t, []string{"event 000", "event 001", "event 002"}, messagesOf(t, lr.wait(t, 3)))
	_, _, code = c.run(t, ndjson(2, "auth", 3)+ndjson(2, "other", 3), "ingest")
	require.Equal(t, 0, code)
	lr.wait(t, 5)

	// logsd restarts: the tail resumes by itself.
	d.Restart(t)
	_, _, code = c.run(t, ndjson(2, "auth", 5), "ingest")
	require.Equal(t, 0, code)
	got := lr.wait(t, 7)
	stderr, code := stop()
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, []string{"event 000", "event 001", "event 002", "event 003", "event 004", "event 005", "event 006"}, messagesOf(t, got))
	assert.Contains(t, stderr, "logs tail: reconnecting in")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	require.True(t, strings.HasPrefix(last, "last-event-id: "), stderr)
	id := strings.TrimPrefix(last, "last-event-id: ")

	// A script continues where the tail stopped.
	_, _, code = c.run(t, ndjson(2, "auth", 7), "ingest")
	require.Equal(t, 0, code)
	lr, stop = c.tail(t, "--last-event-id", id, "--source", "auth")
	assert.Equal(t, []string{"event 007", "event 008"}, messagesOf(t, lr.wait(t, 2)))
	stderr, code = stop()
	assert.Equal(t, 0, code, stderr)

	// An id of another tenant is refused at once.
	other := cli{bin: c.bin, url: c.url, token: logsdtest.Token(t, "acme"), tenant: "acme"}
	_, stderr, code = other.run(t, "", "tail", "--last-event-id", id)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "Last-Event-ID")
}
