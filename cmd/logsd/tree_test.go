package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/logstore/bunstore"
	"github.com/ithbat/logs/logtree"
)

// TestVerifyCommand: logsd builds and signs the verifiable log as it
// serves (as every kind of database role), copies the checkpoints to the
// bucket, and logsd verify checks them, and fails with exit status 3's
// error once the database's owner changed an entry.
func TestVerifyCommand(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			env := databaseEnv(t, backend)
			env["LOGSD_DATA_DIR"] = dir
			env["LOGSD_CHECKPOINT_ENTRIES"] = "3"
			d := start(t, env)
			tok, err := run(t, env, "token", "--tenant", "acme", "--permissions", "log:read,log:write")
			require.NoError(t, err)
			tok = strings.TrimSpace(tok)
			for i := range 6 {
				status, body := call(t, http.MethodPost, d.URL+"/api/v1/logs", tok, "acme", fmt.Sprintf(`{"level":"info","source":"auth","message":"m%d"}`, i))
				require.Equal(t, 201, status, body)
			}
			require.Eventually(t, func() bool {
				status, body := call(t, http.MethodGet, d.URL+"/api/v1/logs/checkpoints", tok, "acme", "")
				latest, _ := body["data"].(map[string]any)["latest"].(map[string]any)
				if status != 200 || latest == nil || latest["treeSize"] != float64(6) {
					return false
				}
				_, err := os.Stat(filepath.Join(dir, "exports", "tlog", "acme", "00000000000000000006"))
				return err == nil
			}, 30*time.Second, 50*time.Millisecond, "a checkpoint of the 6 entries, in the bucket too")

			st, err := os.Stat(filepath.Join(dir, logtree.KeyFile))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
			_, body := call(t, http.MethodGet, d.URL+"/api/v1/logs/checkpoints/key", tok, "acme", "")
			vkey := body["data"].(map[string]any)["verifierKey"].(string)
			assert.Contains(t, d.log.String(), vkey, "logsd prints the public key")
			require.NoError(t, d.Close())

			out, err := run(t, env, "verify", "--tenant", "acme")
			require.NoError(t, err, out)
			assert.Contains(t, out, `"ok": true`)
			assert.Contains(t, out, `"verified": 6`)
			out, err = run(t, env, "verify", "--tenant", "acme", "--key", vkey, "--start", "2000-01-01")
			require.NoError(t, err, out)

			// Another key's public key: the checkpoints do not verify.
			skey, err := logtree.GenerateKey(logtree.DefaultKeyName)
			require.NoError(t, err)
			other, err := logtree.ParseKey(skey)
			require.NoError(t, err)
			_, err = run(t, env, "verify", "--tenant", "acme", "--key", other.VerifierKey)
			require.ErrorIs(t, err, errVerifyFailed)

			// The owner changes an entry with the triggers off.
			ownerURL := env["LOGSD_DATABASE_URL"]
			if u, ok := env["LOGSD_ADMIN_DATABASE_URL"]; ok {
				ownerURL = u
			}
			if backend == "sqlite" {
				ownerURL = "sqlite://" + filepath.Join(dir, "logs.db")
				if u := env["LOGSD_DATABASE_URL"]; u != "" {
					ownerURL = u
				}
			}
			s, err := bunstore.Open(context.Background(), ownerURL, &bunstore.Options{NoMigrate: true})
			require.NoError(t, err)
			conn, err := s.DB().Conn(context.Background())
			require.NoError(t, err)
			stmts := []string{"DROP TRIGGER log_entries_no_update", "UPDATE log_entries SET message = 'nothing' WHERE message = 'm4'"}
			if backend != "sqlite" {
				stmts = []string{"SET session_replication_role = replica", "UPDATE log_entries SET message = 'nothing' WHERE message = 'm4'"}
			}
			for _, q := range stmts {
				_, err := conn.ExecContext(context.Background(), q)
				require.NoError(t, err, q)
			}
			require.NoError(t, conn.Close())
			require.NoError(t, s.Close())
			out, err = run(t, env, "verify", "--tenant", "acme")
			require.ErrorIs(t, err, errVerifyFailed)
			assert.Contains(t, out, `"reason": "changed"`)
			assert.Contains(t, err.Error(), "no longer matches its leaf 4")

			_, err = run(t, env, "verify")
			require.ErrorContains(t, err, "--tenant is required")
			elsewhere := map[string]string{"LOGSD_DATA_DIR": t.TempDir()}
			for k, v := range env {
				if k != "LOGSD_DATA_DIR" {
					elsewhere[k] = v
				}
			}
			_, err = run(t, elsewhere, "verify", "--tenant", "acme")
			require.ErrorContains(t, err, "--key", "no key is generated to verify with")
		})
	}
}
