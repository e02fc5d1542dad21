package loghttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/ithbat/logs/logconsume"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore/bunstore"
	"github.com/ithbat/logs/logtree"
)

// treeEnv is a server with the verifiable log, its consumer running.
func treeEnv(t *testing.T, st *bunstore.Store) (*env, *logtree.Log) {
	t.Helper()
	skey, err := logtree.GenerateKey("test-log")
	require.NoError(t, err)
	k, err := logtree.ParseKey(skey)
	require.NoError(t, err)
	l := logtree.New(st, st, st, k, &logtree.Options{Entries: 5, Interval: time.Hour, Settings: st})
	r := logconsume.New(st, st, &logconsume.Options{Poll: 20 * time.Millisecond})
	t.Cleanup(func() { _ = r.Close() })
	require.NoError(t, r.Add(l.Spec()))
	return newEnv(t, st, &envOptions{opts: loghttp.Options{Tree: l}}), l
}

func waitCheckpoint(t *testing.T, st *bunstore.Store, tenant string, size int64) {
	t.Helper()
	require.Eventually(t, func() bool {
		h, err := st.TreeHead(context.Background(), tenant)
		return err == nil && h.CheckpointSize == size
	}, 30*time.Second, 20*time.Millisecond, "a checkpoint of size %d", size)
}

func TestVerifiableLog(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e, _ := treeEnv(t, st)
		body := func(n int, prefix string) string {
			var es []string
			for i := range n {
				es = append(es, fmt.Sprintf(`{"level":"info","source":"auth","message":"%s %d","metadata":{"n":%d.50,"k":{"b":1,"a":2}}}`, prefix, i, i))
			}
			return `{"logs":[` + strings.Join(es, ",") + `]}`
		}
		e.ingest(t, "acme", body(12, "sign-in"))
		e.ingest(t, "globex", body(3, "other"))
		waitCheckpoint(t, st, "acme", 12)
		read := func(tenant string) string { return token(t, tenant, loghttp.PermRead) }
		get := func(tenant, path string) *resp { return e.do(t, req{path: path, token: read(tenant), tenant: tenant}) }

		var key struct {
			VerifierKey, KeyName, Origin, Algorithm string
		}
		get("acme", "/api/v1/logs/checkpoints/key").data(t, http.StatusOK, &key)
		assert.Equal(t, "test-log/acme", key.Origin)
		assert.Equal(t, "Ed25519", key.Algorithm)
		v, err := note.NewVerifier(key.VerifierKey)
		require.NoError(t, err)

		var cps struct {
			Latest      *logtree.Checkpoint
			Checkpoints []logtree.Checkpoint
			NextBefore  *int64
		}
		get("acme", "/api/v1/logs/checkpoints").data(t, http.StatusOK, &cps)
		require.NotNil(t, cps.Latest)
		assert.EqualValues(t, 12, cps.Latest.TreeSize)
		_, err = note.Open([]byte(cps.Latest.Note), note.VerifierList(v))
		require.NoError(t, err, "the checkpoint is signed by the served key")

		// Every entry's proof checks with tlog, from the entry as listed.
		var raw struct {
			Logs []json.RawMessage `json:"logs"`
		}
		get("acme", "/api/v1/logs?limit=500").data(t, http.StatusOK, &raw)
		require.Len(t, raw.Logs, 12)
		for _, lj := range raw.Logs {
			ent, err := logtree.ParseEntry(lj)
			require.NoError(t, err)
			var p logtree.Proof
			get("acme", "/api/v1/logs/proof?id="+ent.ID).data(t, http.StatusOK, &p)
			data, err := logtree.LeafData(ent)
			require.NoError(t, err)
			require.NoError(t, tlog.CheckRecord(p.Proof, 12, cps.Latest.RootHash, p.LeafIndex, tlog.RecordHash(data)))
			_, err = logtree.CheckProof(key.VerifierKey, "acme", lj, p)
			require.NoError(t, err)
			_, err = logtree.CheckProof(key.VerifierKey, "acme", nil, p)
			require.NoError(t, err, "the proof's own entry, as decoded, hashes as stored (metadata 1.50 stays 1.50)")
			// Another tenant gets no proof of it.
			get("globex", "/api/v1/logs/proof?id="+ent.ID).requireError(t, http.StatusNotFound, "not_found", "id")
		}

		e.ingest(t, "acme", body(5, "more"))
		waitCheckpoint(t, st, "acme", 17)
		var cons logtree.Consistency
		get("acme", "/api/v1/logs/checkpoints/consistency?from=12&to=17").data(t, http.StatusOK, &cons)
		require.NotNil(t, cons.FromCheckpoint)
		require.NotNil(t, cons.ToCheckpoint)
		_, _, err = logtree.CheckConsistency(key.VerifierKey, "acme", []byte(cps.Latest.Note), []byte(cons.ToCheckpoint.Note), cons.Proof)
		require.NoError(t, err)
		cons.Proof[0][0] ^= 1
		_, _, err = logtree.CheckConsistency(key.VerifierKey, "acme", []byte(cps.Latest.Note), []byte(cons.ToCheckpoint.Note), cons.Proof)
		require.ErrorIs(t, err, logtree.ErrProof, "a forged proof fails")

		get("acme", "/api/v1/logs/checkpoints?limit=1").data(t, http.StatusOK, &cps)
		require.Len(t, cps.Checkpoints, 1)
		require.NotNil(t, cps.NextBefore)
		assert.EqualValues(t, 17, *cps.NextBefore)
		get("acme", "/api/v1/logs/checkpoints?limit=1&before=17").data(t, http.StatusOK, &cps)
		require.Len(t, cps.Checkpoints, 1)
		assert.EqualValues(t, 12, cps.Checkpoints[0].TreeSize)
		assert.Nil(t, cps.NextBefore)

		var rep logtree.Report
		verify := func(tenant, body string) *resp {
			return e.do(t, req{method: http.MethodPost, path: "/api/v1/logs/verify", token: read(tenant), tenant: tenant,
				body: strings.NewReader(body), header: http.Header{"Content-Type": {"application/json"}}})
		}
		verify("acme", "").data(t, http.StatusOK, &rep)
		assert.Equal(t, logtree.Report{OK: true, Verified: 17, TreeSize: 17, Checkpoints: 2}, rep)
		verify("acme", `{"startDate":"2000-01-01T00:00:00Z","endDate":"2001-01-01"}`).data(t, http.StatusOK, &rep)
		assert.Equal(t, logtree.Report{OK: true, Verified: 0, TreeSize: 17, Checkpoints: 2}, rep)
		verify("globex", "{}").data(t, http.StatusOK, &rep)
		assert.EqualValues(t, 3, rep.Verified)
		var m map[string]any
		verify("acme", "").data(t, http.StatusOK, &m)
		for _, k := range []string{"verified", "treeSize", "ok"} {
			assert.Contains(t, m, k)
		}

		// Hostile input: a 400 naming the field, never a 500.
		for _, c := range []struct{ path, field string }{
			{"/api/v1/logs/proof", "id"},
			{"/api/v1/logs/proof?id=x", "id"},
			{"/api/v1/logs/proof?id=" + strings.Repeat("a", 5000), "id"},
			{"/api/v1/logs/proof?id=01a2341e-9830-729a-a6b0-8716949c0163&id=01a2341e-9830-729a-a6b0-8716949c0163", "id"},
			{"/api/v1/logs/proof?id=01a2341e-9830-729a-a6b0-8716949c0163&treeSize=0", "treeSize"},
			{"/api/v1/logs/proof?id=01a2341e-9830-729a-a6b0-8716949c0163&treeSize=-1", "treeSize"},
			{"/api/v1/logs/proof?idd=1", "idd"},
			{"/api/v1/logs/checkpoints/consistency", "from"},
			{"/api/v1/logs/checkpoints/consistency?from=1", "to"},
			{"/api/v1/logs/checkpoints/consistency?from=0&to=5", "from"},
			{"/api/v1/logs/checkpoints/consistency?from=9&to=5", "to"},
			{"/api/v1/logs/checkpoints/consistency?from=1&to=18", "to"},
			{"/api/v1/logs/checkpoints/consistency?from=1&to=99999999999999999999", "to"},
			{"/api/v1/logs/checkpoints/consistency?from=1e3&to=5", "from"},
			{"/api/v1/logs/checkpoints/consistency?from=+1&to=5", "from"},
			{"/api/v1/logs/checkpoints?limit=0", "limit"},
			{"/api/v1/logs/checkpoints?limit=501", "limit"},
			{"/api/v1/logs/checkpoints?before=0", "before"},
			{"/api/v1/logs/checkpoints?page=2", "page"},
			{"/api/v1/logs/checkpoints/key?x=1", "x"},
		} {
			get("acme", c.path).requireError(t, http.StatusBadRequest, "invalid_argument", c.field)
		}
		get("acme", "/api/v1/logs/proof?id=01a2341e-9830-729a-a6b0-8716949c0163").requireError(t, http.StatusNotFound, "not_found", "id")
		get("globex", "/api/v1/logs/checkpoints/consistency?from=1&to=17").requireError(t, http.StatusBadRequest, "invalid_argument", "to")
		get("nobody", "/api/v1/logs/checkpoints/consistency?from=1&to=1").requireError(t, http.StatusBadRequest, "invalid_argument", "to")
		var empty struct {
			Latest      *logtree.Checkpoint
			Checkpoints []logtree.Checkpoint
		}
		get("nobody", "/api/v1/logs/checkpoints").data(t, http.StatusOK, &empty)
		assert.Nil(t, empty.Latest)
		assert.Empty(t, empty.Checkpoints)
		for _, c := range []struct{ body, field string }{
			{`{"startDate":"yesterday"}`, "startDate"},
			{`{"startDate":"2026-03-02T00:00:00Z","endDate":"2026-03-01T00:00:00Z"}`, "startDate"},
			{`{"from":"2026-03-02T00:00:00Z"}`, "from"},
			{`{"startDate":1}`, "startDate"},
			{`[]`, ""},
		} {
			r := verify("acme", c.body)
			require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", c.body, r.Raw)
			if c.field != "" {
				assert.NotEmpty(t, r.Env.Error.Field, c.body)
			}
		}
		// Permissions: log:read is required.
		e.do(t, req{path: "/api/v1/logs/checkpoints", token: token(t, "acme", loghttp.PermWrite), tenant: "acme"}).
			requireError(t, http.StatusForbidden, "permission_denied", "")
	})
}

func TestVerifiableLogNotServed(t *testing.T) {
	e := newEnv(t, openStore(t, "sqlite"), nil)
	e.do(t, req{path: "/api/v1/logs/checkpoints/key", token: token(t, "acme", loghttp.PermRead), tenant: "acme"}).
		requireError(t, http.StatusNotFound, "not_found", "")
}
