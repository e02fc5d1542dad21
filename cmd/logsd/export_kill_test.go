package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/testdb"
)

// buildLogsd builds this package's binary (with -race when the test is).
func buildLogsd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "logsd")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	return bin
}

// startProcess runs the binary with env and returns its base URL once it
// serves. The process is killed at the end of the test.
func startProcess(t *testing.T, bin string, env ...string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	re := regexp.MustCompile(`serving the Logs API" addr=(\S+)`)
	var seen strings.Builder
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			return "http://" + m[1], cmd
		}
	}
	t.Fatalf("logsd did not start; stderr:\n%s", seen.String())
	return "", nil
}

// TestExportSurvivesKilledProcess: a logsd process is killed with SIGKILL
// while it runs an export (the job claimed, its file being written, not yet
// marked ready); another logsd process on the same database and bucket
// takes the job up when the lease expires and completes it.
func TestExportSurvivesKilledProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	db := testdb.Postgres(t)
	bin := buildLogsd(t)
	bucket := t.TempDir()
	env := []string{"LOGSD_DATABASE_URL=" + db, "LOGSD_DATA_DIR=" + t.TempDir(), "LOGSD_JWT_SECRET=" + sharedSecret,
		"LOGSD_JWKS_URL=", "LOGSD_BLOB_URL=file://" + bucket, "LOGSD_EXPORT_LEASE=2s", "LOGSD_EXPORT_SECRET=",
		"LOGSD_PUBLIC_URL="}
	first, firstCmd := startProcess(t, bin, env...)
	tok := streamToken(t, "acme", "log:read", "log:write")

	const n = 20000
	for i := 0; i < n; i += 5000 {
		var b strings.Builder
		for j := i; j < i+5000; j++ {
			fmt.Fprintf(&b, `{"level":"error","source":"auth","message":"entry %d"}`+"\n", j)
		}
		postNDJSON(t, first, tok, "acme", b.String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	require.NoError(t, err)
	defer conn.Close(context.Background())

	// Submit until we catch the job claimed and not yet done; then hold its
	// row so that the worker cannot mark it ready, and kill the process.
	var id string
	var locked pgx.Tx
	for attempt := 0; attempt < 10 && locked == nil; attempt++ {
		status, body := call(t, http.MethodPost, first+"/api/v1/logs/export", tok, "acme", `{"format":"csv"}`)
		require.Equal(t, http.StatusAccepted, status, body)
		data := body["data"].(map[string]any)
		require.EqualValues(t, n, data["estimatedRecords"])
		id = data["exportId"].(string)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			tx, err := conn.Begin(ctx)
			require.NoError(t, err)
			var st string
			var attempts int
			err = tx.QueryRow(ctx, "SELECT status, attempts FROM log_export_jobs WHERE id = $1 FOR UPDATE", id).Scan(&st, &attempts)
			require.NoError(t, err)
			if st == "processing" && attempts == 1 {
				locked = tx
				break
			}
			require.NoError(t, tx.Rollback(ctx))
			if st != "processing" {
				break // done already: try a new export
			}
		}
	}
	require.NotNil(t, locked, "never caught an export in the middle")
	// The worker's next write (its lease renewal or a progress update)
	// waits on our row lock.
	watch, err := pgx.Connect(ctx, db) // outside our transaction, whose statistics snapshot would not change
	require.NoError(t, err)
	defer watch.Close(context.Background())
	require.Eventually(t, func() bool {
		var waiting int
		err := watch.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return err == nil && waiting > 0
	}, 60*time.Second, 20*time.Millisecond, "the worker reaches the row lock")
	require.NoError(t, firstCmd.Process.Kill())
	_ = firstCmd.Wait()
	// PostgreSQL notices a vanished client only when it next talks to it:
	// the killed process's UPDATE, waiting on our lock, would go on and
	// mark the job ready once we release it. End its sessions, as the
	// database would for a dead host.
	_, err = locked.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	require.NoError(t, err)
	require.NoError(t, locked.Rollback(ctx))

	second, _ := startProcess(t, bin, env...)
	var link string
	require.Eventually(t, func() bool {
		status, body := call(t, http.MethodGet, second+"/api/v1/logs/export/"+id, tok, "acme", "")
		data, _ := body["data"].(map[string]any)
		link, _ = data["downloadUrl"].(string)
		require.NotEqual(t, "failed", data["status"], body)
		return status == http.StatusOK && data["status"] == "ready"
	}, 60*time.Second, 50*time.Millisecond)
	var attempts int
	require.NoError(t, conn.QueryRow(ctx, "SELECT attempts FROM log_export_jobs WHERE id = $1", id).Scan(&attempts))
	assert.Equal(t, 2, attempts, "the second process ran the job again")
	resp, err := http.Get(link)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	rows, err := csv.NewReader(resp.Body).ReadAll()
	require.NoError(t, err)
	assert.Len(t, rows, n+1, "every entry and the header, once")
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		assert.False(t, seen[r[0]], "duplicate %s", r[0])
		seen[r[0]] = true
	}
}

// postNDJSON ingests body, NDJSON, for tenant and requires a 201.
func postNDJSON(t *testing.T, base, tok, tenant, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/logs", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Tenant-ID", tenant)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
}
