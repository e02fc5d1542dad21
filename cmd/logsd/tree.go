package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/ithbat/logs/logexport"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logtree"
)

// VerifyArgs are the flags of logsd verify.
type VerifyArgs struct {
	Tenant     string
	Key        string // a verifier key to trust instead of the signing key's
	Start, End string
}

// signingKey returns the key of the verifiable log: LOGSD_SIGNING_KEY,
// else the one in the data folder, generated there on first use.
func (m *Main) signingKey() (*logtree.Key, error) {
	path := filepath.Join(m.Config.DataDir, logtree.KeyFile)
	k, created, err := logtree.LoadKey(m.Config.SigningKey, path)
	if err != nil {
		return nil, fmt.Errorf("signing key (LOGSD_SIGNING_KEY): %w", err)
	}
	if created {
		m.logger().Info("logsd: generated the signing key of the verifiable log", "file", path)
	}
	return k, nil
}

// openTree makes the verifiable log (its consumer is added with the
// others), with its checkpoints copied to the bucket.
func (m *Main) openTree() error {
	k, err := m.signingKey()
	if err != nil {
		return err
	}
	c := &m.Config
	m.tree = logtree.New(m.store, m.store, m.store, k, &logtree.Options{Interval: c.CheckpointInterval,
		Entries: int64(c.CheckpointEntries), Bucket: m.bucket, Settings: m.store, Logger: m.logger()})
	return nil
}

// errVerifyFailed is the error of a verification that found tampering.
var errVerifyFailed = errors.New("verify: the log does not verify")

// verify runs logsd verify: the tenant's tree against the database and
// the checkpoints in the database and the bucket, trusting the key given
// (--key) or the signing key's public key. It prints the report as JSON.
func (m *Main) verify(ctx context.Context) error {
	c := &m.Config
	q := url.Values{}
	if m.Verify.Start != "" {
		q.Set("startDate", m.Verify.Start)
	}
	if m.Verify.End != "" {
		q.Set("endDate", m.Verify.End)
	}
	f, err := logquery.ParseValues(q)
	if err != nil {
		return fmt.Errorf("verify: --start/--end: %w", err)
	}
	var k *logtree.Key
	path := filepath.Join(c.DataDir, logtree.KeyFile)
	switch {
	case m.Verify.Key != "":
		k, err = logtree.ParseVerifierKey(m.Verify.Key)
	case c.SigningKey == "":
		if _, serr := os.Stat(path); serr != nil {
			return fmt.Errorf("verify: no signing key: neither LOGSD_SIGNING_KEY nor %s; give the public key to trust with --key", path)
		}
		fallthrough
	default:
		k, err = m.signingKey()
	}
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	st, err := m.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	bucket, err := logexport.OpenBucket(ctx, c.BlobURL)
	if err != nil {
		return fmt.Errorf("verify: bucket %s: %w", redact(c.BlobURL), err)
	}
	defer bucket.Close()
	l := logtree.New(st, st, st, k, &logtree.Options{Bucket: bucket, Settings: st, Logger: m.logger()})
	rep, err := l.Verify(ctx, m.Verify.Tenant, logtree.VerifyOptions{Start: f.Start, End: f.End})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Fprintln(m.Stdout, string(out))
	if !rep.OK {
		return fmt.Errorf("%w: %s", errVerifyFailed, rep.Failure.Message)
	}
	return nil
}
