package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/testdb"
)

// TestTwoReplicas runs two logsd processes on one PostgreSQL database and one
// bucket, as the README's "Two replicas" section sets them up: what one
// ingests (API and OTLP), the other lists, streams and exports.
func TestTwoReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildLogsd(t)
	db := testdb.Postgres(t)
	bucket := "file://" + t.TempDir()
	shared := []string{"LOGSD_DATABASE_URL=" + db, "LOGSD_JWT_SECRET=" + sharedSecret, "LOGSD_BLOB_URL=" + bucket,
		"LOGSD_EXPORT_SECRET=an-export-secret-of-every-replica", "LOGSD_STREAM_KEY=a-stream-key-of-every-replica"}
	ingester, _ := startProcess(t, bin, append(shared, "LOGSD_DATA_DIR="+t.TempDir())...)
	reader, _ := startProcess(t, bin, append(shared, "LOGSD_DATA_DIR="+t.TempDir())...)
	write, read := streamToken(t, "acme", "log:write"), streamToken(t, "acme", "log:read")

	s := openSSE(t, reader+"/api/v1/logs/stream?source=replica", bearer("acme", read))
	for _, m := range []string{"first", "second"} {
		status, body := call(t, http.MethodPost, ingester+"/api/v1/logs", write, "acme", `{"level":"warn","source":"replica","message":"`+m+`"}`)
		require.Equal(t, http.StatusCreated, status, body)
	}
	req, err := http.NewRequest(http.MethodPost, ingester+"/otlp/v1/logs", strings.NewReader(
		`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"replica"}}]},"scopeLogs":[{"logRecords":[{"severityNumber":9,"body":{"stringValue":"third"}}]}]}]}`))
	require.NoError(t, err)
	req.Header = bearer("acme", write)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	assert.Equal(t, []string{"first", "second", "third"}, s.messages(t, 3), "the other replica's stream")

	status, body := call(t, http.MethodGet, reader+"/api/v1/logs?source=replica", read, "acme", "")
	require.Equal(t, 200, status, body)
	data := body["data"].(map[string]any)
	assert.EqualValues(t, 3, data["total"], "the other replica's list")

	status, body = call(t, http.MethodPost, reader+"/api/v1/logs/export", read, "acme", `{"format":"ndjson","source":"replica"}`)
	require.Equal(t, http.StatusAccepted, status, body)
	id := body["data"].(map[string]any)["exportId"].(string)
	var url string
	require.Eventually(t, func() bool {
		_, body := call(t, http.MethodGet, ingester+"/api/v1/logs/export/"+id, read, "acme", "")
		d := body["data"].(map[string]any)
		if d["status"] == "ready" {
			url = d["downloadUrl"].(string)
		}
		return url != ""
	}, 60*time.Second, 50*time.Millisecond, "the job, polled on the first replica")
	res, err = http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	var messages []string
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		var e map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		messages = append(messages, e["message"].(string))
	}
	assert.ElementsMatch(t, []string{"first", "second", "third"}, messages)
}
