package main

import (
	"context"
	"fmt"

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
		secret, err := m.derivedKey(c.ExportSecret, "export-secret", 16, "logsd export secret",
			"logsd: download links of file:// exports are signed with a key of this process only; "+
				"set LOGSD_EXPORT_SECRET (the same on every replica) for links that every replica accepts")
		if err != nil {
			return fmt.Errorf("export URL secret: %w", err)
		}
		if signer, err = logexport.NewFileSigner(c.PublicURL, secret); err != nil {
			return fmt.Errorf("export download URLs (LOGSD_PUBLIC_URL, LOGSD_EXPORT_SECRET): %w", err)
		}
	}
	m.exporter, err = logexport.New(m.store, m.store, bucket, &logexport.Options{
		Logger: m.logger(), Workers: c.ExportWorkers, Lease: c.ExportLease, Retention: c.ExportRetention, Signer: signer,
		OnJob: m.metrics.ExportJob,
	})
	if err != nil {
		return err
	}
	return m.exporter.Start()
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
