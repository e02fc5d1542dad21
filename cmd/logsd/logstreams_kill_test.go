package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logsink"
)

// hangingReceiver is a webhook receiver on loopback that checks every
// signature, records every delivery, and holds the delivery number hold
// (from 1) without answering until released.
type hangingReceiver struct {
	mu       sync.Mutex
	secret   string
	batches  [][]string // the entries of each delivery, in order
	bad      int
	hold     int
	held     chan struct{} // closed when the held delivery arrived
	release  chan struct{}
	heldOnce sync.Once
}

func (h *hangingReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	h.mu.Lock()
	if err := logsink.Verify(h.secret, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"),
		r.Header.Get("webhook-signature"), body, time.Now(), 5*time.Minute); err != nil {
		h.bad++
		h.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var b struct{ Logs []logs.Entry }
	_ = json.Unmarshal(body, &b)
	var ids []string
	for _, e := range b.Logs {
		ids = append(ids, e.Message) // unique in this test
	}
	h.batches = append(h.batches, ids)
	n := len(h.batches)
	h.mu.Unlock()
	if n == h.hold {
		h.heldOnce.Do(func() { close(h.held) })
		<-h.release
	}
}

// TestLogStreamSurvivesKilledProcess: a logsd killed with SIGKILL in the
// middle of a webhook delivery (the receiver has the batch and has not
// answered) loses nothing: another logsd on the same database delivers
// that batch again and nothing else twice; every entry arrives, in
// order, signed. On both databases.
func TestLogStreamSurvivesKilledProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildLogsd(t)
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			db := testdb.URL(t, backend)
			if backend == "sqlite" {
				db = "sqlite://" + filepath.Join(t.TempDir(), "logs.db")
			}
			rc := &hangingReceiver{hold: 3, held: make(chan struct{}), release: make(chan struct{})}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			defer close(rc.release)
			env := []string{"LOGSD_DATABASE_URL=" + db, "LOGSD_DATA_DIR=" + t.TempDir(), "LOGSD_JWT_SECRET=" + sharedSecret,
				"LOGSD_JWKS_URL=", "LOGSD_LOG_STREAMS_ALLOW_PRIVATE=true", "LOGSD_LOG_STREAMS_LEASE=2s"}
			first, firstCmd := startProcess(t, bin, env...)
			admin := streamToken(t, "acme", "log:admin")
			writer := streamToken(t, "acme", "log:write")

			status, body := call(t, http.MethodPost, first+"/api/v1/log-streams", admin, "acme",
				fmt.Sprintf(`{"type":"webhook","url":%q,"batchSize":50}`, srv.URL+"/siem"))
			require.Equal(t, http.StatusCreated, status, body)
			data := body["data"].(map[string]any)
			rc.mu.Lock()
			rc.secret = data["secret"].(string)
			rc.mu.Unlock()
			id := data["id"].(string)

			const n = 500
			var b strings.Builder
			for i := range n {
				fmt.Fprintf(&b, `{"level":"info","source":"auth","message":"entry %03d"}`+"\n", i)
			}
			postNDJSON(t, first, writer, "acme", b.String())

			select {
			case <-rc.held:
			case <-time.After(60 * time.Second):
				t.Fatal("the third delivery never came")
			}
			require.NoError(t, firstCmd.Process.Kill())
			_ = firstCmd.Wait()
			rc.mu.Lock()
			killed := append([]string(nil), rc.batches[len(rc.batches)-1]...)
			rc.mu.Unlock()

			second, _ := startProcess(t, bin, env...)
			require.Eventually(t, func() bool {
				rc.mu.Lock()
				defer rc.mu.Unlock()
				seen := map[string]bool{}
				for _, batch := range rc.batches {
					for _, id := range batch {
						seen[id] = true
					}
				}
				return len(seen) == n
			}, 90*time.Second, 50*time.Millisecond)

			rc.mu.Lock()
			defer rc.mu.Unlock()
			assert.Zero(t, rc.bad, "every delivery signed")
			count := map[string]int{}
			var order []string
			for _, batch := range rc.batches {
				for _, id := range batch {
					if count[id] == 0 {
						order = append(order, id)
					}
					count[id]++
				}
			}
			var twice []string
			for _, id := range order {
				if count[id] > 1 {
					twice = append(twice, id)
				}
				assert.LessOrEqual(t, count[id], 2, id)
			}
			assert.Equal(t, killed, twice, "the batch in flight again, and nothing else")

			// In order: one ingest request, so cursor order is the order of
			// its lines.
			assert.True(t, sort.StringsAreSorted(order), "first arrivals in cursor order")
			assert.Len(t, order, n)
			require.Eventually(t, func() bool {
				status, body := call(t, http.MethodGet, second+"/api/v1/log-streams/"+id, admin, "acme", "")
				d, _ := body["data"].(map[string]any)
				lag, _ := d["lag"].(map[string]any)
				return status == http.StatusOK && d["delivered"] == float64(n) && lag["entries"] == float64(0)
			}, 30*time.Second, 50*time.Millisecond, "delivered counts each entry once")
		})
	}
}
