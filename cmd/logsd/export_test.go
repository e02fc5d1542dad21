package main

import (
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/logexport"
)

func TestExportConfig(t *testing.T) {
	m := NewMain("logsd", io.Discard, io.Discard)
	require.NoError(t, m.ParseArgs([]string{"--export-workers", "4", "--export-retention", "2h"},
		envOf(map[string]string{"LOGSD_EXPORT_LEASE": "45s", "LOGSD_EXPORT_SECRET": "s3cr3t-s3cr3t-s3cr3t"})))
	assert.Equal(t, 4, m.Config.ExportWorkers)
	assert.Equal(t, 2*time.Hour, m.Config.ExportRetention)
	assert.Equal(t, 45*time.Second, m.Config.ExportLease)
	assert.Equal(t, "s3cr3t-s3cr3t-s3cr3t", m.Config.ExportSecret)
	require.Error(t, NewMain("logsd", io.Discard, io.Discard).ParseArgs([]string{"--export-workers", "-1"}, envOf(nil)))
	require.Error(t, NewMain("logsd", io.Discard, io.Discard).ParseArgs(nil, envOf(map[string]string{"LOGSD_EXPORT_LEASE": "soon"})))

	_, err := run(t, map[string]string{"LOGSD_DATA_DIR": t.TempDir(), "LOGSD_EXPORT_SECRET": "short"}, "--addr", "127.0.0.1:0")
	require.ErrorContains(t, err, "LOGSD_EXPORT_SECRET")
}

// TestExport runs an export through the daemon: its file:// bucket in the
// data folder, download links at its own address.
func TestExport(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			env := databaseEnv(t, backend)
			env["LOGSD_DATA_DIR"] = dir
			d := start(t, env)
			tok, err := run(t, env, "token", "--tenant", "acme", "--permissions", "log:read,log:write")
			require.NoError(t, err)
			tok = strings.TrimSpace(tok)
			status, body := call(t, http.MethodPost, d.URL+"/api/v1/logs", tok, "acme",
				`{"logs":[{"level":"error","source":"auth","message":"=1+1"},{"level":"info","source":"auth","message":"skipped"}]}`)
			require.Equal(t, 201, status, body)

			status, body = call(t, http.MethodPost, d.URL+"/api/v1/logs/export", tok, "acme", `{"format":"csv","level":"error"}`)
			require.Equal(t, 202, status, body)
			data := body["data"].(map[string]any)
			assert.EqualValues(t, 1, data["estimatedRecords"])
			assert.EqualValues(t, 0, data["exportedRecords"])
			id := data["exportId"].(string)

			var link string
			require.Eventually(t, func() bool {
				status, body = call(t, http.MethodGet, d.URL+"/api/v1/logs/export/"+id, tok, "acme", "")
				data = body["data"].(map[string]any)
				link, _ = data["downloadUrl"].(string)
				return status == 200 && data["status"] == "ready"
			}, 30*time.Second, 20*time.Millisecond, "%v", body)
			assert.EqualValues(t, 1, data["exportedRecords"])
			u, err := url.Parse(link)
			require.NoError(t, err)
			assert.Equal(t, d.URL+logexport.DownloadPath, u.Scheme+"://"+u.Host+u.Path, "links point at the daemon")

			resp, err := http.Get(link)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, 200, resp.StatusCode)
			rows, err := csv.NewReader(resp.Body).ReadAll()
			require.NoError(t, err)
			require.Len(t, rows, 2)
			assert.Equal(t, "'=1+1", rows[1][4])

			// Another secret (another daemon) does not accept the link.
			d.Close()
			env2 := map[string]string{"LOGSD_DATA_DIR": dir, "LOGSD_DATABASE_URL": env["LOGSD_DATABASE_URL"],
				"LOGSD_EXPORT_SECRET": "another-secret-of-16-bytes"}
			d2 := start(t, env2)
			resp2, err := http.Get(strings.Replace(link, d.URL, d2.URL, 1))
			require.NoError(t, err)
			resp2.Body.Close()
			assert.Equal(t, 403, resp2.StatusCode)
		})
	}
}
