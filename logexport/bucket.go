package logexport

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/secrets"
)

// DownloadPath is the path at which the daemon serves the files of buckets
// that cannot sign URLs themselves (see NewFileSigner).
const DownloadPath = "/api/v1/logs/export/download"

// OpenBucket opens the bucket at urlstr with gocloud.dev/blob: file:///dir,
// mem://, s3://bucket?region=..., gs://bucket, azblob://container (the
// drivers are compiled in). A file:// bucket's folder is created when
// missing.
func OpenBucket(ctx context.Context, urlstr string) (*blob.Bucket, error) {
	u, err := url.Parse(urlstr)
	if err != nil {
		return nil, fmt.Errorf("logexport: bucket URL: %w: %w", logs.ErrInvalid, err)
	}
	if u.Scheme == "file" {
		q := u.Query()
		if q.Get("create_dir") == "" {
			q.Set("create_dir", "true")
			u.RawQuery = q.Encode()
		}
	}
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("logexport: open bucket %s://: %w: %w", u.Scheme, logs.ErrInvalid, err)
	}
	return b, nil
}

// NeedsSigner reports whether the bucket at urlstr cannot sign URLs itself,
// so that the daemon must sign them (NewFileSigner) and serve the files.
func NeedsSigner(urlstr string) bool {
	u, err := url.Parse(urlstr)
	return err == nil && (u.Scheme == "file" || u.Scheme == "mem")
}

// NewFileSigner returns the HMAC signer for download URLs served by the
// daemon itself at publicURL (the daemon's external base URL, such as
// https://logs.example.com) + DownloadPath. The HMAC key is derived from
// secret, which must be the same in every process that signs or verifies
// (all replicas) and at least 16 bytes long.
func NewFileSigner(publicURL string, secret []byte) (*fileblob.URLSignerHMAC, error) {
	if len(secret) < 16 {
		return nil, fmt.Errorf("logexport: URL signing secret is shorter than 16 bytes: %w", logs.ErrInvalid)
	}
	u, err := url.Parse(strings.TrimRight(publicURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("logexport: public URL %q must be an absolute http(s) URL: %w", publicURL, logs.ErrInvalid)
	}
	u = u.JoinPath(DownloadPath)
	u.RawQuery, u.Fragment = "", ""
	return fileblob.NewURLSignerHMAC(u, secrets.Derive(secret, "logexport download URL", 32)), nil
}

// File is a download being served.
type File struct {
	Body        io.ReadCloser
	Name        string // file name for Content-Disposition
	ContentType string
	Size        int64
	ModTime     time.Time
}

// Download opens the file named by a download URL that Options.Signer
// signed. Only the query of u matters. A URL that is tampered with, expired
// or not for download is logs.ErrPermissionDenied; a file that is gone
// (expired) is logs.ErrNotFound. The caller closes Body.
func (e *Exporter) Download(ctx context.Context, u *url.URL) (*File, error) {
	if e.opts.Signer == nil {
		return nil, fmt.Errorf("logexport: downloads are not served here: %w", logs.ErrNotFound)
	}
	denied := fmt.Errorf("logexport: the download link is invalid or has expired: %w", logs.ErrPermissionDenied)
	if len(u.RawQuery) > 4096 {
		return nil, denied
	}
	key, err := e.opts.Signer.KeyFromURL(ctx, u)
	if err != nil || u.Query().Get("method") != http.MethodGet || !strings.HasPrefix(key, "tenants/") {
		return nil, denied
	}
	r, err := e.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return nil, fmt.Errorf("logexport: the export file no longer exists: %w: %w", bucketCode(err), err)
	}
	name := key[strings.LastIndexByte(key, '/')+1:]
	ct := r.ContentType()
	if ext := name[strings.LastIndexByte(name, '.')+1:]; ext != name {
		ct = Format(ext).ContentType()
	}
	return &File{Body: r, Name: name, ContentType: ct, Size: r.Size(), ModTime: r.ModTime()}, nil
}
