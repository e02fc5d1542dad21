package logtree_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logconsume"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstore/bunstore"
	"github.com/ithbat/logs/logtree"
)

type env struct {
	backend string
	store   *bunstore.Store
	bucket  *blob.Bucket
	key     *logtree.Key
	log     *logtree.Log
}

func newEnv(t *testing.T, backend string) *env { return newBenchEnv(t, backend) }

func newBenchEnv(t testing.TB, backend string) *env {
	t.Helper()
	ctx := context.Background()
	s, err := bunstore.Open(ctx, testdb.URL(t, backend), &bunstore.Options{MaxRetention: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	b, err := fileblob.OpenBucket(t.TempDir(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	skey, err := logtree.GenerateKey("test-log")
	require.NoError(t, err)
	k, err := logtree.ParseKey(skey)
	require.NoError(t, err)
	l := logtree.New(s, s, s, k, &logtree.Options{Bucket: b, Entries: 5, Interval: time.Hour, Settings: s})
	return &env{backend: backend, store: s, bucket: b, key: k, log: l}
}

// sync runs the tree consumer by hand up to the head, then two ticks: one
// that signs, one that publishes.
func (e *env) sync(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	st, ok, err := e.store.ClaimConsumer(ctx, logstore.TreeConsumer, "test", logstore.Cursor{}, now, now.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	cp := st.Checkpoint
	for {
		recs, err := e.store.After(ctx, "", cp, 7)
		require.NoError(t, err)
		if len(recs) == 0 {
			// PostgreSQL hands entries out below its watermark: wait
			// until every entry appended is.
			n, err := e.store.CountAfter(ctx, "", cp, 10)
			require.NoError(t, err)
			if n == 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		effs, err := e.log.Apply(ctx, recs)
		require.NoError(t, err)
		to := recs[len(recs)-1].Cursor
		ok, err := e.store.AdvanceConsumer(ctx, logstore.TreeConsumer, "test", cp, to, now, effs...)
		require.NoError(t, err)
		require.True(t, ok)
		cp = to
	}
	for range 2 {
		effs, err := e.log.Tick(ctx)
		require.NoError(t, err)
		ok, err := e.store.AdvanceConsumer(ctx, logstore.TreeConsumer, "test", cp, cp, now, effs...)
		require.NoError(t, err)
		require.True(t, ok)
	}
	require.NoError(t, e.store.ReleaseConsumer(ctx, logstore.TreeConsumer, "test"))
}

func (e *env) add(t *testing.T, tenant string, n int, at time.Time) []logs.Entry {
	t.Helper()
	var es []logs.Entry
	for i := range n {
		es = append(es, logs.Entry{Level: logs.LevelInfo, Source: "auth", Message: fmt.Sprintf("sign-in %d — café <ok> & \u2028", i),
			Metadata:  map[string]any{"n": i, "big": json.Number("12345678901234567890"), "f": 1.5, "z": map[string]any{"b": true, "a": []any{"x", nil}}},
			CreatedAt: at.Add(time.Duration(i) * time.Second)})
	}
	out, err := e.store.Append(context.Background(), tenant, es)
	require.NoError(t, err)
	return out
}

// exec runs statements as the database's owner, with the immutability
// triggers switched off (what the owner or a superuser can do).
func (e *env) exec(t *testing.T, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := e.store.DB().Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	if e.backend == "postgres" {
		_, err := conn.ExecContext(ctx, "SET session_replication_role = replica")
		require.NoError(t, err)
		defer conn.ExecContext(ctx, "RESET session_replication_role")
	} else {
		for _, tr := range []string{"log_entries_no_update", "log_entries_no_delete", "log_tree_leaves_no_update", "log_tree_leaves_no_delete",
			"log_tree_checkpoints_no_update", "log_tree_checkpoints_no_delete"} {
			_, err := conn.ExecContext(ctx, "DROP TRIGGER IF EXISTS "+tr)
			require.NoError(t, err)
		}
	}
	for _, q := range stmts {
		_, err := conn.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
}

var recent = time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)

// TestProofsCheckWithTlog: every entry's proof and every pair of
// checkpoints' consistency check with tlog's own verifiers and the signed
// notes with note's, and the tree is the one tlog computes.
func TestProofsCheckWithTlog(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			ctx := context.Background()
			var all []logs.Entry
			for _, n := range []int{10, 10, 10, 7} {
				all = append(all, e.add(t, "acme", n, recent.Add(time.Duration(len(all))*time.Minute))...)
				e.add(t, "other", 3, recent)
				e.sync(t)
			}
			cps, err := e.log.Checkpoints(ctx, "acme", 0, 100)
			require.NoError(t, err)
			sizes := []int64{}
			for _, c := range cps {
				sizes = append(sizes, c.TreeSize)
			}
			assert.Equal(t, []int64{37, 30, 20, 10}, sizes)

			// tlog's own tree of the same leaves, from the entries as read.
			var stored []tlog.Hash
			hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
				out := make([]tlog.Hash, len(idx))
				for i, x := range idx {
					out[i] = stored[x]
				}
				return out, nil
			})
			v, err := note.NewVerifier(e.key.VerifierKey)
			require.NoError(t, err)
			page, err := e.store.After(ctx, "acme", logstore.Cursor{}, 1000)
			require.NoError(t, err)
			require.Len(t, page, 37)
			for i, r := range page {
				data, err := logtree.LeafData(r.Entry)
				require.NoError(t, err)
				hs, err := tlog.StoredHashes(int64(i), data, hr)
				require.NoError(t, err)
				stored = append(stored, hs...)
			}
			for _, c := range cps {
				n, err := note.Open([]byte(c.Note), note.VerifierList(v))
				require.NoError(t, err)
				lines := strings.Split(n.Text, "\n")
				assert.Equal(t, "test-log/acme", lines[0])
				assert.Equal(t, fmt.Sprint(c.TreeSize), lines[1])
				th, err := tlog.TreeHash(c.TreeSize, hr)
				require.NoError(t, err)
				assert.Equal(t, base64.StdEncoding.EncodeToString(th[:]), lines[2], "the root of size %d is tlog's", c.TreeSize)
			}
			for i, r := range page {
				p, err := e.log.Proof(ctx, "acme", r.Entry.ID, 0)
				require.NoError(t, err)
				assert.EqualValues(t, i, p.LeafIndex)
				data, err := logtree.LeafData(r.Entry)
				require.NoError(t, err)
				require.NoError(t, tlog.CheckRecord(p.Proof, 37, cps[0].RootHash, int64(i), tlog.RecordHash(data)))
				// The client's side, from the entry's JSON.
				raw, err := p.Entry.MarshalJSON()
				require.NoError(t, err)
				c, err := logtree.CheckProof(e.key.VerifierKey, "acme", raw, p)
				require.NoError(t, err)
				assert.EqualValues(t, 37, c.TreeSize)
				_, err = logtree.CheckProof(e.key.VerifierKey, "other", raw, p)
				assert.ErrorIs(t, err, logtree.ErrCheckpoint, "a checkpoint of acme is not one of other")
			}
			for _, older := range cps {
				for _, newer := range cps {
					if older.TreeSize > newer.TreeSize {
						continue
					}
					cons, err := e.log.Consistency(ctx, "acme", older.TreeSize, newer.TreeSize)
					require.NoError(t, err)
					require.NoError(t, tlog.CheckTree(cons.Proof, newer.TreeSize, newer.RootHash, older.TreeSize, older.RootHash))
					_, _, err = logtree.CheckConsistency(e.key.VerifierKey, "acme", []byte(older.Note), []byte(newer.Note), cons.Proof)
					require.NoError(t, err)
				}
			}
			notes, err := logtree.BucketCheckpoints(ctx, e.bucket, "acme")
			require.NoError(t, err)
			assert.Len(t, notes, 4, "every checkpoint is in the bucket")

			rep, err := e.log.Verify(ctx, "acme", logtree.VerifyOptions{})
			require.NoError(t, err)
			assert.Equal(t, logtree.Report{OK: true, Verified: 37, TreeSize: 37, Checkpoints: 4}, rep)
			rep, err = e.log.Verify(ctx, "acme", logtree.VerifyOptions{Start: recent.Add(10 * time.Minute), End: recent.Add(10*time.Minute + 9*time.Second)})
			require.NoError(t, err)
			assert.True(t, rep.OK)
			assert.EqualValues(t, 10, rep.Verified, "the range checks its entries only")
			rep, err = e.log.Verify(ctx, "nobody", logtree.VerifyOptions{})
			require.NoError(t, err)
			assert.Equal(t, logtree.Report{OK: true}, rep)

			_, err = e.log.Proof(ctx, "other", all[0].ID, 0)
			assert.ErrorIs(t, err, logs.ErrNotFound, "another tenant's entry has no proof")
		})
	}
}

// TestTamperingIsNamed: what the database's owner does behind the log's
// back is named by Verify.
func TestTamperingIsNamed(t *testing.T) {
	nov := time.Date(recent.Year(), recent.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 3)
	type tc struct {
		name   string
		tamper func(t *testing.T, e *env, es []logs.Entry) string // returns the entry to name
		reason string
	}
	where := func(e *env, es []logs.Entry, i int) string { return fmt.Sprintf("id = '%s'", es[i].ID) }
	cases := []tc{
		{"ChangeMessage", func(t *testing.T, e *env, es []logs.Entry) string {
			e.exec(t, "UPDATE log_entries SET message = 'nothing happened' WHERE "+where(e, es, 13))
			return es[13].ID
		}, logtree.ReasonChanged},
		{"ChangeMetadata", func(t *testing.T, e *env, es []logs.Entry) string {
			e.exec(t, `UPDATE log_entries SET metadata = '{"n":1}' WHERE `+where(e, es, 2))
			return es[2].ID
		}, logtree.ReasonChanged},
		{"DeleteEntry", func(t *testing.T, e *env, es []logs.Entry) string {
			e.exec(t, "DELETE FROM log_entries WHERE "+where(e, es, 7))
			return es[7].ID
		}, logtree.ReasonMissingEntry},
		{"DropPartition", func(t *testing.T, e *env, es []logs.Entry) string {
			if e.backend == "postgres" {
				e.exec(t, "DROP TABLE log_entries_p"+nov.Format("200601"))
			} else {
				e.exec(t, fmt.Sprintf("DELETE FROM log_entries WHERE created_at < %d", recent.Add(-24*time.Hour).UnixMicro()))
			}
			return es[0].ID
		}, logtree.ReasonMissingEntry},
		{"RewriteEntryAndLeafHash", func(t *testing.T, e *env, es []logs.Entry) string {
			// A thorough owner: the entry, its leaf hash and its digest.
			return rewrite(t, e, es[12], true)
		}, logtree.ReasonCheckpoint},
		{"RewriteEntryAndLeafHashOnly", func(t *testing.T, e *env, es []logs.Entry) string {
			return rewrite(t, e, es[17], false)
		}, logtree.ReasonStoredHash},
		{"InsertBehindTheLog", func(t *testing.T, e *env, es []logs.Entry) string {
			id, err := logstore.NewID(recent)
			require.NoError(t, err)
			tenantKey := "(SELECT key FROM log_tenants WHERE id = 'acme')"
			if e.backend == "postgres" {
				e.exec(t, fmt.Sprintf(`INSERT INTO log_entries (tenant, created_at, id, seq, xid, level, id_at_time, source, message, metadata)
					VALUES (%s, '%s', '%s', 0, '1', 0, true, 'auth', 'forged', '{}')`, tenantKey, recent.Format(time.RFC3339Nano), id))
			} else {
				e.exec(t, fmt.Sprintf(`INSERT INTO log_entries (seq, tenant, created_at, id, level, source, message, metadata)
					VALUES (0, %s, %d, '%s', 0, 'auth', 'forged', '{}')`, tenantKey, recent.UnixMicro(), id))
			}
			return id
		}, logtree.ReasonMissingLeaf},
		{"TruncateTreeAndDatabaseCheckpoints", func(t *testing.T, e *env, es []logs.Entry) string {
			// The owner removes the latest entries, their leaves and the
			// database's checkpoints; the bucket's copies remain.
			var ids []string
			for _, x := range es[20:] {
				ids = append(ids, "'"+x.ID+"'")
			}
			in := strings.Join(ids, ", ")
			e.exec(t, "DELETE FROM log_entries WHERE id IN ("+in+")", "DELETE FROM log_tree_leaves WHERE id IN ("+in+")",
				"DELETE FROM log_tree_checkpoints WHERE size > 20", "UPDATE log_tree_heads SET size = 20, checkpoint_size = 20, published_size = 20 WHERE tenant_id = 'acme'")
			return ""
		}, logtree.ReasonTreeGap},
		{"ForgedCheckpoint", func(t *testing.T, e *env, es []logs.Entry) string {
			skey, err := logtree.GenerateKey("test-log")
			require.NoError(t, err)
			other, err := logtree.ParseKey(skey)
			require.NoError(t, err)
			forger := logtree.New(e.store, e.store, e.store, other, &logtree.Options{Entries: 1})
			e.add(t, "acme", 1, recent.Add(time.Hour))
			e.syncWith(t, forger) // a checkpoint signed by another key
			return ""
		}, logtree.ReasonBadCheckpoint},
	}
	for _, backend := range testdb.Backends() {
		for _, c := range cases {
			t.Run(backend+"/"+c.name, func(t *testing.T) {
				e := newEnv(t, backend)
				es := e.add(t, "acme", 5, nov)
				es = append(es, e.add(t, "acme", 25, recent)...)
				e.add(t, "other", 4, recent)
				for i := 0; i < len(es); i += 10 {
					e.sync(t) // checkpoints on the way
				}
				rep, err := e.log.Verify(context.Background(), "acme", logtree.VerifyOptions{})
				require.NoError(t, err)
				require.True(t, rep.OK, "%+v", rep.Failure)
				require.EqualValues(t, 30, rep.Verified)

				id := c.tamper(t, e, es)
				rep, err = e.log.Verify(context.Background(), "acme", logtree.VerifyOptions{})
				require.NoError(t, err)
				require.False(t, rep.OK)
				require.NotNil(t, rep.Failure)
				assert.Equal(t, c.reason, rep.Failure.Reason, rep.Failure.Message)
				if id != "" {
					if len(rep.Failure.Candidates) > 0 {
						assert.Contains(t, rep.Failure.Candidates, id, rep.Failure.Message)
					} else {
						assert.Equal(t, id, rep.Failure.ID, rep.Failure.Message)
					}
				}
				t.Log(rep.Failure.Message)
				// Another tenant is untouched.
				rep, err = e.log.Verify(context.Background(), "other", logtree.VerifyOptions{})
				require.NoError(t, err)
				assert.True(t, rep.OK, "%+v", rep.Failure)
			})
		}
	}
}

// rewrite changes entry's message as the owner, and its stored leaf hash
// to match (and its digest, when digest is set).
func rewrite(t *testing.T, e *env, entry logs.Entry, digest bool) string {
	t.Helper()
	changed := entry
	changed.Message = "nothing happened"
	h, err := logtree.LeafHash(changed)
	require.NoError(t, err)
	d, err := logtree.Digest(changed)
	require.NoError(t, err)
	lit := func(b []byte) string {
		if e.backend == "postgres" {
			return fmt.Sprintf("'\\x%x'::bytea", b)
		}
		return fmt.Sprintf("X'%x'", b)
	}
	set := lit(h[:]) + " || substr(hashes, 33)"
	if digest {
		set += ", digest = " + lit(d[:])
	}
	where := fmt.Sprintf("id = '%s'", entry.ID)
	e.exec(t, "UPDATE log_entries SET message = 'nothing happened' WHERE "+where, "UPDATE log_tree_leaves SET hashes = "+set+" WHERE "+where)
	return entry.ID
}

func (e *env) syncWith(t *testing.T, l *logtree.Log) {
	saved := e.log
	e.log = l
	defer func() { e.log = saved }()
	e.sync(t)
}

// TestRetentionIsNotTampering: entries the retention purged count as
// expired, not as missing, and have no proof.
func TestRetentionIsNotTampering(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			ctx := context.Background()
			old := e.add(t, "acme", 4, time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC))
			e.add(t, "acme", 6, recent)
			e.sync(t)
			require.NoError(t, e.store.SetTenantSettings(ctx, "acme", logstore.TenantSettings{RetentionDays: 300}))
			n, err := e.store.Purge(ctx, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
			require.NoError(t, err)
			require.EqualValues(t, 4, n)
			rep, err := e.log.Verify(ctx, "acme", logtree.VerifyOptions{})
			require.NoError(t, err)
			assert.Equal(t, logtree.Report{OK: true, Verified: 6, TreeSize: 10, Checkpoints: 1, Expired: 4}, rep)
			_, err = e.log.Proof(ctx, "acme", old[0].ID, 0)
			assert.ErrorIs(t, err, logs.ErrNotFound)
			// An owner who deletes a recent entry and backdates its leaf
			// past the retention is caught: the leaf hash covers its time.
			recentOnes, err := e.store.After(ctx, "acme", logstore.Cursor{}, 100)
			require.NoError(t, err)
			victim := recentOnes[len(recentOnes)-1].Entry.ID
			e.exec(t, fmt.Sprintf("DELETE FROM log_entries WHERE id = '%s'", victim),
				fmt.Sprintf("UPDATE log_tree_leaves SET created_at = %d WHERE id = '%s'", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), victim))
			rep, err = e.log.Verify(ctx, "acme", logtree.VerifyOptions{})
			require.NoError(t, err)
			require.False(t, rep.OK)
			assert.Equal(t, logtree.ReasonStoredHash, rep.Failure.Reason)
			assert.Equal(t, victim, rep.Failure.ID)
			// Within the retention a missing entry is tampering.
			require.NoError(t, e.store.SetTenantSettings(ctx, "acme", logstore.TenantSettings{}))
			rep, err = e.log.Verify(ctx, "acme", logtree.VerifyOptions{})
			require.NoError(t, err)
			assert.False(t, rep.OK)
			assert.Equal(t, logtree.ReasonMissingEntry, rep.Failure.Reason)
		})
	}
}

// TestRunnerBuildsTheTree: the Spec under a real logconsume.Runner builds
// the tree and signs a checkpoint by itself.
func TestRunnerBuildsTheTree(t *testing.T) {
	e := newEnv(t, "sqlite")
	r := logconsume.New(e.store, e.store, &logconsume.Options{Poll: 20 * time.Millisecond})
	defer r.Close()
	require.NoError(t, r.Add(e.log.Spec()))
	e.add(t, "acme", 12, recent)
	require.Eventually(t, func() bool {
		h, err := e.store.TreeHead(context.Background(), "acme")
		return err == nil && h.Size == 12 && h.CheckpointSize == 12 && h.PublishedSize == 12
	}, 20*time.Second, 20*time.Millisecond)
	rep, err := e.log.Verify(context.Background(), "acme", logtree.VerifyOptions{})
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep.Failure)
}

// TestVerifyWhileAppending: verification while entries arrive and the
// consumer signs checkpoints never reports a failure.
func TestVerifyWhileAppending(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			l := logtree.New(e.store, e.store, e.store, e.key, &logtree.Options{Bucket: e.bucket, Entries: 3, Interval: 10 * time.Millisecond, Settings: e.store})
			r := logconsume.New(e.store, e.store, &logconsume.Options{Poll: 5 * time.Millisecond, Settle: time.Millisecond})
			defer r.Close()
			spec := l.Spec()
			spec.Every = 5 * time.Millisecond
			require.NoError(t, r.Add(spec))
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := range 40 {
					e.add(t, "acme", 1+i%3, recent.Add(time.Duration(i)*time.Second))
				}
			}()
			verifies := 0
			for running := true; running; verifies++ {
				select {
				case <-done:
					running = false
				default:
				}
				rep, err := l.Verify(context.Background(), "acme", logtree.VerifyOptions{})
				require.NoError(t, err)
				require.True(t, rep.OK, "%+v", rep.Failure)
			}
			require.Eventually(t, func() bool {
				rep, err := l.Verify(context.Background(), "acme", logtree.VerifyOptions{})
				return err == nil && rep.OK && rep.Verified == 79 && rep.TreeSize == 79
			}, 30*time.Second, 20*time.Millisecond)
			t.Logf("%d verifications while appending", verifies)
		})
	}
}

// TestClientChecksTrustNothing: the client's checks refuse a proof or a
// checkpoint that the server (or anyone between) changed.
func TestClientChecksTrustNothing(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	es := e.add(t, "acme", 9, recent)
	e.sync(t)
	p, err := e.log.Proof(ctx, "acme", es[4].ID, 0)
	require.NoError(t, err)
	raw, err := p.Entry.MarshalJSON()
	require.NoError(t, err)
	_, err = logtree.CheckProof(e.key.VerifierKey, "acme", raw, p)
	require.NoError(t, err)

	skey, err := logtree.GenerateKey("test-log")
	require.NoError(t, err)
	other, err := logtree.ParseKey(skey)
	require.NoError(t, err)
	changed := strings.Replace(string(raw), "sign-in 4", "sign-in 5", 1)
	forged := p
	forged.Proof = append([]tlog.Hash(nil), p.Proof...)
	forged.Proof[0][3] ^= 1
	shifted := p
	shifted.LeafIndex = 5
	badNote := p
	badNote.Checkpoint.Note = strings.Replace(p.Checkpoint.Note, "\n9\n", "\n10\n", 1)
	for name, c := range map[string]struct {
		key   string
		entry []byte
		p     logtree.Proof
		want  error
	}{
		"another key":           {other.VerifierKey, raw, p, logtree.ErrCheckpoint},
		"a changed entry":       {e.key.VerifierKey, []byte(changed), p, logtree.ErrProof},
		"a forged proof":        {e.key.VerifierKey, raw, forged, logtree.ErrProof},
		"another leaf":          {e.key.VerifierKey, raw, shifted, logtree.ErrProof},
		"a changed checkpoint":  {e.key.VerifierKey, raw, badNote, logtree.ErrCheckpoint},
		"an unknown field":      {e.key.VerifierKey, []byte(strings.Replace(string(raw), `{"id"`, `{"x":1,"id"`, 1)), p, logs.ErrInvalid},
		"another tenant's view": {e.key.VerifierKey, []byte(strings.Replace(string(raw), `"tenantId":"acme"`, `"tenantId":"other"`, 1)), p, logtree.ErrProof},
	} {
		_, err := logtree.CheckProof(c.key, "acme", c.entry, c.p)
		assert.ErrorIs(t, err, c.want, name)
	}
	_, err = logtree.OpenCheckpoint("not a key", "acme", []byte(p.Checkpoint.Note))
	assert.ErrorIs(t, err, logs.ErrInvalid)

	// A forged note in the bucket is named by Verify.
	require.NoError(t, e.bucket.WriteAll(ctx, "tlog/acme/00000000000000000009", []byte(badNote.Checkpoint.Note), nil))
	rep, err := e.log.Verify(ctx, "acme", logtree.VerifyOptions{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	assert.Equal(t, logtree.ReasonBadCheckpoint, rep.Failure.Reason)
	// A checkpoint signed by the key for the same size with another root:
	// a fork, whoever made it.
	fork, err := note.Sign(&note.Note{Text: fmt.Sprintf("test-log/acme\n9\n%s\ntime %s\n",
		base64.StdEncoding.EncodeToString(make([]byte, 32)), logs.FormatTime(time.Now()))}, e.key.Signer)
	require.NoError(t, err)
	require.NoError(t, e.bucket.WriteAll(ctx, "tlog/acme/00000000000000000009", fork, nil))
	rep, err = e.log.Verify(ctx, "acme", logtree.VerifyOptions{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	assert.Equal(t, logtree.ReasonCheckpoint, rep.Failure.Reason, rep.Failure.Message)
	assert.EqualValues(t, 9, rep.Failure.TreeSize)
	// Without the forged notes the log verifies again.
	require.NoError(t, e.bucket.Delete(ctx, "tlog/acme/00000000000000000009"))
	rep, err = e.log.Verify(ctx, "acme", logtree.VerifyOptions{})
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep.Failure)
}
