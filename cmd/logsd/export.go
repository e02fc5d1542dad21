package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"time"

	"gocloud.dev/blob/fileblob"

	"github.com/ithbat/logs/logexport"
)

// openExporter opens the export bucket and starts the export workers. For a
// bucket that cannot sign URLs (file://, mem://) logsd signs them itself
// with an HMAC key derived from LOGSD_EXPORT_SECRET, else from the JWT
// secret, and serves the files at Config.PublicURL + logexport.DownloadPath.
// Every replica must then share that secret (and the bucket).
func (m *Main) openExporter(ctx context.Context) error {
	c := &m.Config
	bucket, err := logexport.OpenBucket(ctx, c.BlobURL)
	if err != nil {
		return fmt.Errorf("export bucket %s: %w", redact(c.BlobURL), err)
	}
	m.bucket = bucket
	var signer fileblob.URLSigner
	if logexport.NeedsSigner(c.BlobURL) {
		secret, err := m.exportSecret()
		if err != nil {
			return err
		}
		if signer, err = logexport.NewFileSigner(c.PublicURL, secret); err != nil {
			return fmt.Errorf("export download URLs (LOGSD_PUBLIC_URL, LOGSD_EXPORT_SECRET): %w", err)
		}
	}
	m.exporter, err = logexport.New(m.store, m.store, bucket, &logexport.Options{
		Logger: m.logger(), Workers: c.ExportWorkers, Lease: c.ExportLease, Retention: c.ExportRetention, Signer: signer,
	})
	if err != nil {
		return err
	}
	return m.exporter.Start()
}

// exportSecret is the secret download URLs are signed with:
// LOGSD_EXPORT_SECRET, else the HS256 JWT secret (configured, or the one in
// the data folder). With only a JWKS there is no secret to share: a random
// one is made for this process, so links work on this replica until it
// restarts (clients poll again for a fresh link).
func (m *Main) exportSecret() ([]byte, error) {
	c := &m.Config
	switch {
	case c.ExportSecret != "":
		if len(c.ExportSecret) < 16 {
			return nil, fmt.Errorf("LOGSD_EXPORT_SECRET (--export-secret) has %d bytes; at least 16 are required", len(c.ExportSecret))
		}
		return []byte(c.ExportSecret), nil
	case c.hs256():
		s, err := m.secret()
		if err != nil {
			return nil, fmt.Errorf("export URL secret: %w", err)
		}
		return s, nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("export URL secret: %w", err)
	}
	m.logger().Warn("logsd: download links of file:// exports are signed with a key of this process only; " +
		"set LOGSD_EXPORT_SECRET (the same on every replica) for links that every replica accepts")
	return b[:], nil
}

// closeExporter stops the export workers (a job in progress is given back
// for another replica or the next start) and closes the bucket.
func (m *Main) closeExporter() error {
	var err error
	if m.exporter != nil {
		err = m.exporter.Close()
		m.exporter = nil
	}
	if m.bucket != nil {
		if cerr := m.bucket.Close(); err == nil {
			err = cerr
		}
		m.bucket = nil
	}
	return err
}

// optInt is an int setting whose empty value means 0: the library default.
type optInt struct{ p *int }

func (v optInt) Set(s string) error {
	if s == "" {
		*v.p = 0
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v.p = n
	return nil
}

func (v optInt) String() string {
	if v.p == nil || *v.p == 0 {
		return ""
	}
	return strconv.Itoa(*v.p)
}

// optDur is a duration setting whose empty value means 0: the library
// default.
type optDur struct{ p *time.Duration }

func (v optDur) Set(s string) error {
	if s == "" {
		*v.p = 0
		return nil
	}
	return durationValue(v).Set(s)
}

func (v optDur) String() string {
	if v.p == nil || *v.p == 0 {
		return ""
	}
	return v.p.String()
}
