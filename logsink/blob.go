package logsink

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/url"
	"path"
	"strings"

	"gocloud.dev/blob"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

// Blob destinations: the operator lists the bucket URLs tenants may write
// to (Options.Buckets), each a prefix in which {tenant} stands for the
// tenant's id, such as s3://acme-log-streams/{tenant}/?region=eu-west-1.
// A stream's URL must lie inside one: same scheme and bucket, a path
// under the listed one, and no query of its own beyond the listed one's
// (a query could point the driver at another endpoint). The bucket is
// opened with the listed URL's query and the server's credentials; the
// objects go under the stream's path.

// bucketTarget is where a blob stream writes: the URL to open the bucket
// with and the key prefix of its objects.
type bucketTarget struct {
	open   string
	prefix string
}

// blobTarget checks a stream's bucket URL against the operator's list and
// returns where it writes. The error is for the client.
func (m *Manager) blobTarget(tenant, raw string) (bucketTarget, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" || u.Fragment != "" || u.User != nil {
		return bucketTarget{}, logs.Invalid("url", "must be a bucket URL such as s3://bucket/prefix?region=...")
	}
	if strings.Contains(u.Path, "..") || strings.Contains(u.Path, "//") || strings.ContainsAny(u.Path, "\\\x00") {
		return bucketTarget{}, logs.Invalid("url", "must not hold .. or empty path segments")
	}
	if len(m.opts.Buckets) == 0 {
		return bucketTarget{}, logs.Invalid("type", "blob log streams are not enabled on this server (the operator lists the buckets tenants may write to: LOGSD_LOG_STREAMS_BUCKETS)")
	}
	for _, allowed := range m.opts.Buckets {
		a, err := url.Parse(strings.ReplaceAll(allowed, "{tenant}", tenant))
		if err != nil || a.Scheme != u.Scheme || a.Host != u.Host {
			continue
		}
		base := strings.TrimSuffix(a.Path, "/")
		if u.Path != base && !strings.HasPrefix(u.Path, base+"/") {
			continue
		}
		if u.RawQuery != "" && u.RawQuery != a.RawQuery {
			continue
		}
		t := bucketTarget{}
		rest := strings.Trim(strings.TrimPrefix(u.Path, base), "/")
		if a.Scheme == "file" {
			t.open = (&url.URL{Scheme: "file", Path: base, RawQuery: a.RawQuery}).String()
		} else {
			t.open = (&url.URL{Scheme: a.Scheme, Host: a.Host, RawQuery: a.RawQuery}).String()
			rest = strings.Trim(path.Join(strings.Trim(base, "/"), rest), "/")
		}
		if rest != "" {
			t.prefix = rest + "/"
		}
		return t, nil
	}
	return bucketTarget{}, logs.Invalid("url", "is not inside a bucket this server lets the tenant write to")
}

// objectKey names the object of a batch so that the lexical order of the
// names is the delivery order: the cursor of the batch's first entry, each
// part zero-padded. A batch delivered again after a restart starts at the
// same cursor, so it replaces its object.
func objectKey(prefix string, first logstore.Cursor, gz bool) string {
	k := fmt.Sprintf("%s%020d-%019d.ndjson", prefix, first.Epoch, first.Seq)
	if gz {
		k += ".gz"
	}
	return k
}

// putBlob writes one batch as an object of NDJSON lines.
func (m *Manager) putBlob(ctx context.Context, ls *logstore.LogStream, first logstore.Cursor, lines []byte) error {
	t, err := m.blobTarget(ls.TenantID, ls.URL)
	if err != nil {
		return fmt.Errorf("the bucket URL is no longer allowed: %s", err.(*logs.Error).Message)
	}
	b, err := m.bucket(ctx, t.open)
	if err != nil {
		return fmt.Errorf("the bucket cannot be opened: %s", clip(err.Error(), 300))
	}
	body, ctype := lines, "application/x-ndjson"
	if ls.Gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(lines)
		_ = zw.Close()
		body, ctype = buf.Bytes(), "application/gzip"
	}
	if err := b.WriteAll(ctx, objectKey(t.prefix, first, ls.Gzip), body, &blob.WriterOptions{ContentType: ctype}); err != nil {
		return fmt.Errorf("the object cannot be written: %s", clip(err.Error(), 300))
	}
	return nil
}

// bucket returns the open bucket of url, opening it once per process.
func (m *Manager) bucket(ctx context.Context, u string) (*blob.Bucket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.buckets[u]; ok {
		return b, nil
	}
	b, err := m.opts.OpenBucket(ctx, u)
	if err != nil {
		return nil, err
	}
	m.buckets[u] = b
	return b, nil
}
