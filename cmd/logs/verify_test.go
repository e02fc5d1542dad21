package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/logsdtest"
	"github.com/ithbat/logs/logtree"
)

// latestNote is the signed note of the tenant's latest checkpoint.
func latestNote(t *testing.T, c cli) (string, int64) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, c.url+"/api/v1/logs/checkpoints?limit=1", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("X-Tenant-ID", c.tenant)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var env struct {
		Data struct {
			Latest *struct {
				TreeSize int64  `json:"treeSize"`
				Note     string `json:"note"`
			} `json:"latest"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&env))
	if env.Data.Latest == nil {
		return "", 0
	}
	return env.Data.Latest.Note, env.Data.Latest.TreeSize
}

// TestVerify: logs verify checks entries' proofs against the key the user
// holds (printed by logsd), and that the log extends a checkpoint kept
// from earlier; another key, or a changed kept checkpoint, exits 4.
func TestVerify(t *testing.T) {
	bin := logsdtest.Binary(t, "logs")
	d := logsdtest.Start(t, "sqlite", map[string]string{"LOGSD_CHECKPOINT_ENTRIES": "1"})
	c := cli{bin: bin, url: d.URL, token: logsdtest.Token(t, "acme", "log:read", "log:write"), tenant: "acme"}
	var m []string
	require.Eventually(t, func() bool {
		m = regexp.MustCompile(`verifierKey=(\S+)`).FindStringSubmatch(d.Log())
		return m != nil
	}, 10*time.Second, 10*time.Millisecond, "logsd prints the public key")
	key := m[1]

	_, errOut, code := c.run(t, ndjson(3, "auth", 0), "ingest")
	require.Equal(t, 0, code, errOut)
	out, errOut, code := c.run(t, "", "query", "-o", "jsonl")
	require.Equal(t, 0, code, errOut)
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e struct{ ID string }
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		ids = append(ids, e.ID)
	}
	require.Len(t, ids, 3)
	require.Eventually(t, func() bool { _, n := latestNote(t, c); return n == 3 }, 30*time.Second, 50*time.Millisecond)
	kept, _ := latestNote(t, c)
	keptFile := filepath.Join(t.TempDir(), "checkpoint")
	require.NoError(t, os.WriteFile(keptFile, []byte(kept), 0o600))

	out, errOut, code = c.run(t, "", append([]string{"verify", "--key", key}, ids...)...)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, 3, strings.Count(out, "ok "), out)
	assert.Contains(t, out, "of the tree of size 3")

	_, errOut, code = c.run(t, ndjson(2, "auth", 3), "ingest")
	require.Equal(t, 0, code, errOut)
	require.Eventually(t, func() bool { _, n := latestNote(t, c); return n == 5 }, 30*time.Second, 50*time.Millisecond)
	out, errOut, code = c.run(t, "", "verify", "--key", key, "--checkpoint", keptFile, ids[0])
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "the tree of size 5 extends the kept one of size 3")

	skey, err := logtree.GenerateKey(logtree.DefaultKeyName)
	require.NoError(t, err)
	other, err := logtree.ParseKey(skey)
	require.NoError(t, err)
	_, errOut, code = c.run(t, "", "verify", "--key", other.VerifierKey, ids[0])
	assert.Equal(t, exitUnverified, code, errOut)
	forged := filepath.Join(t.TempDir(), "forged")
	require.NoError(t, os.WriteFile(forged, []byte(strings.Replace(kept, "\n3\n", "\n4\n", 1)), 0o600))
	_, errOut, code = c.run(t, "", "verify", "--key", key, "--checkpoint", forged, ids[0])
	assert.Equal(t, exitUnverified, code, errOut)

	_, errOut, code = c.run(t, "", "verify", ids[0])
	assert.Equal(t, exitUsage, code, errOut)
	assert.Contains(t, errOut, "--key")
	_, errOut, code = c.run(t, "", "verify", "--key", key, "01a2341e-9830-729a-a6b0-8716949c0163")
	assert.Equal(t, exitRefused, code, errOut)
	_, errOut, code = c.run(t, "", "verify", "--key", key, "not-an-id")
	assert.Equal(t, exitRefused, code, errOut)
}
