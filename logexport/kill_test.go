package logexport_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logexport"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore/bunstore"
)

// The child process of TestWorkerKilled: a worker that exports slowly and
// says when it is in the middle of a file.
const (
	childDBEnv     = "LOGEXPORT_TEST_CHILD_DB"
	childBucketEnv = "LOGEXPORT_TEST_CHILD_BUCKET"
)

func TestMain(m *testing.M) {
	if os.Getenv(childDBEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

func runChild() int {
	ctx := context.Background()
	st, err := bunstore.Open(ctx, os.Getenv(childDBEnv), &bunstore.Options{Logger: quietLogger()})
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	b, err := logexport.OpenBucket(ctx, os.Getenv(childBucketEnv))
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	e, err := logexport.New(st, st, b, &logexport.Options{Logger: quietLogger(), Lease: time.Second, Poll: 50 * time.Millisecond})
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	logexport.SetRowHook(e, func(ctx context.Context, n int64) {
		if n == 100 {
			fmt.Println("MIDDLE")
			<-ctx.Done() // in the middle until killed
		}
	})
	if err := e.Start(); err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	select {} // until killed
}

// startChild runs a worker in a child process and kills it with SIGKILL in
// the middle of an export.
func killChildMidExport(t *testing.T, dbURL, bucketURL string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childDBEnv+"="+dbURL, childBucketEnv+"="+bucketURL)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case line := <-lines:
		require.Equal(t, "MIDDLE", line)
	case <-time.After(60 * time.Second):
		t.Fatal("the child did not start the export")
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no cleanup at all
	_ = cmd.Wait()
}

func TestWorkerKilled(t *testing.T) {
	for _, backend := range testdb.Backends() {
		for _, maxAttempts := range []int{3, 1} {
			t.Run(fmt.Sprintf("%s/maxAttempts=%d", backend, maxAttempts), func(t *testing.T) {
				dbURL := testdb.URL(t, backend)
				ev := newEnv(t, backend, dbURL, &logexport.Options{
					Poll: 50 * time.Millisecond, Lease: time.Second, MaxAttempts: maxAttempts,
				}, false)
				ctx := context.Background()
				appendAll(t, ev.store, tenantA, entries(tenantA, 1000, time.Now()))
				j, err := ev.exp.Submit(ctx, tenantA, logexport.FormatJSON, logquery.Filter{Level: "error"})
				require.NoError(t, err)

				killChildMidExport(t, dbURL, ev.bucketURL)
				got, err := ev.exp.Get(ctx, tenantA, j.ID)
				require.NoError(t, err)
				require.Equal(t, logexport.StatusProcessing, got.Status)
				require.Equal(t, 1, got.Attempts, "the child claimed it")

				// A new worker (this process) takes it up once the dead
				// worker's lease has expired.
				require.NoError(t, ev.exp.Start())
				done := waitDone(t, ev.exp, tenantA, j.ID)
				if maxAttempts == 1 {
					require.Equal(t, logexport.StatusFailed, done.Status)
					assert.True(t, strings.Contains(done.Error, "interrupted"), done.Error)
					return
				}
				require.Equal(t, logexport.StatusReady, done.Status, done.Error)
				assert.Equal(t, 2, done.Attempts)
				data, _ := download(t, ev.exp, done)
				checkFile(t, logexport.FormatJSON, data, queryAll(t, ev.store, tenantA, logquery.Filter{Level: "error"}))
			})
		}
	}
}
