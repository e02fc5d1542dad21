package logclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
)

// Format is the format of an export file.
type Format string

// The export formats.
const (
	CSV    Format = "csv"    // RFC 4180, a header line, metadata as a JSON object
	JSON   Format = "json"   // one JSON array, one entry per line
	NDJSON Format = "ndjson" // one entry per line
)

// Export statuses.
const (
	StatusProcessing = "processing"
	StatusReady      = "ready"
	StatusFailed     = "failed"
	StatusExpired    = "expired"
)

// ExportJob is an export as the server describes it.
type ExportJob struct {
	ID               string    `json:"exportId"`
	Status           string    `json:"status"`
	Format           Format    `json:"format"`
	EstimatedRecords int64     `json:"estimatedRecords"`
	ExportedRecords  int64     `json:"exportedRecords"` // written so far (a server that does not say: 0)
	DownloadURL      string    `json:"downloadUrl"`
	ExpiresAt        time.Time `json:"expiresAt"`
	CreatedAt        time.Time `json:"createdAt"`
	Error            string    `json:"error"` // why, when Status is failed
}

func (j *ExportJob) UnmarshalJSON(b []byte) error {
	type plain ExportJob
	var v struct {
		plain
		DownloadURL *string `json:"downloadUrl"`
		ExpiresAt   *string `json:"expiresAt"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*j = ExportJob(v.plain)
	if v.DownloadURL != nil {
		j.DownloadURL = *v.DownloadURL
	}
	if v.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *v.ExpiresAt)
		if err != nil {
			return fmt.Errorf("expiresAt: %w", err)
		}
		j.ExpiresAt = t
	}
	return nil
}

// SubmitExport queues an export of the entries that match f's conditions.
func (c *Client) SubmitExport(ctx context.Context, format Format, f logquery.Filter) (*ExportJob, error) {
	body := map[string]string{"format": string(format)}
	for k, v := range f.Raw() {
		body[k] = v
	}
	raw, _ := json.Marshal(body)
	var j ExportJob
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/logs/export", nil, raw, "application/json", &j)
	if err != nil {
		return nil, err
	}
	if j.ID == "" {
		return nil, badAnswer(resp, "the export's answer has no exportId")
	}
	return &j, nil
}

// GetExport returns the export's state now.
func (c *Client) GetExport(ctx context.Context, id string) (*ExportJob, error) {
	if id == "" {
		return nil, logs.Invalid("exportId", "is required")
	}
	var j ExportJob
	resp, err := c.do(ctx, http.MethodGet, "/api/v1/logs/export/"+url.PathEscape(id), nil, nil, "", &j)
	if err != nil {
		return nil, err
	}
	if j.ID != id {
		return nil, badAnswer(resp, "the answer is about export %q, not %q", oneLine(j.ID, 100), id)
	}
	return &j, nil
}

// ErrExportFailed is the error of WaitExport for an export that failed or
// expired; the job's Error says why.
var ErrExportFailed = errors.New("the export did not complete")

// WaitExport polls the export, with a growing wait (from 100ms to
// maxPoll, 5s when zero), until it is ready, then returns it. A failed or
// expired export is an error wrapping ErrExportFailed; poll errors that a
// retry may cure (a restart, 503) are retried.
func (c *Client) WaitExport(ctx context.Context, id string, maxPoll time.Duration) (*ExportJob, error) {
	return c.waitExport(ctx, id, maxPoll, nil)
}

func (c *Client) waitExport(ctx context.Context, id string, maxPoll time.Duration, onPoll func(*ExportJob)) (*ExportJob, error) {
	if maxPoll <= 0 {
		maxPoll = 5 * time.Second
	}
	b := Backoff{Min: 100 * time.Millisecond, Max: maxPoll}
	failures := 0
	for {
		j, err := c.GetExport(ctx, id)
		if err == nil && onPoll != nil {
			onPoll(j)
		}
		switch {
		case err != nil && retryable(err) && failures < 10:
			failures++
		case err != nil:
			return nil, err
		case j.Status == StatusReady:
			if j.DownloadURL == "" {
				return nil, &Error{Status: 200, Code: logs.CodeInternal, Message: "bad answer: the export is ready without a downloadUrl"}
			}
			return j, nil
		case j.Status == StatusFailed, j.Status == StatusExpired:
			why := j.Error
			if why == "" {
				why = "no reason given"
			}
			return j, fmt.Errorf("logclient: export %s is %s (%s): %w", j.ID, j.Status, oneLine(why, 500), ErrExportFailed)
		case j.Status != StatusProcessing:
			return nil, &Error{Status: 200, Code: logs.CodeInternal, Message: fmt.Sprintf("bad answer: the export's status is %q", oneLine(j.Status, 50))}
		default:
			failures = 0
		}
		if err := sleep(ctx, max(b.Next(), retryAfter(err))); err != nil {
			return nil, err
		}
	}
}

// Progress is how far a download is.
type Progress struct {
	Bytes    int64 // written so far
	Size     int64 // the file's size, -1 when the server did not say
	Records  int64 // entries written so far
	Expected int64 // the export's estimatedRecords
	Done     bool  // the last call: the download is complete
}

// ErrRecordCount is the error of a download whose file does not hold the
// export's estimatedRecords entries.
var ErrRecordCount = errors.New("the export file does not hold the records the export announced")

// DownloadExport writes the file of a ready export to w, calling progress
// (when not nil) as bytes arrive, and checks that the file holds exactly
// j.EstimatedRecords entries (a wrapped ErrRecordCount when not). The
// download URL is signed: no token is sent with it. It returns the bytes
// written.
func (c *Client) DownloadExport(ctx context.Context, j *ExportJob, w io.Writer, progress func(Progress)) (int64, error) {
	if j.Status != StatusReady || j.DownloadURL == "" {
		return 0, logs.Invalid("exportId", "export %s is %s, not ready", j.ID, j.Status)
	}
	u, err := c.base.Parse(j.DownloadURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return 0, &Error{Status: 200, Code: logs.CodeInternal, Message: fmt.Sprintf("bad answer: the download URL %q is not an http(s) URL", oneLine(j.DownloadURL, 200))}
	}
	counter, err := newRecordCounter(j.Format)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.send(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, c.errorOf(resp)
	}
	p := Progress{Size: resp.ContentLength, Expected: j.EstimatedRecords}
	buf := make([]byte, 256<<10)
	last := time.Time{}
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return p.Bytes, fmt.Errorf("logclient: download of export %s: writing: %w", j.ID, err)
			}
			counter.Write(buf[:n])
			p.Bytes += int64(n)
			p.Records = counter.Records()
			if p.Records > j.EstimatedRecords {
				// An answer that goes on beyond the records announced
				// is not the export: stop reading it.
				return p.Bytes, fmt.Errorf("logclient: export %s: the file holds more than the %d records the export announced: %w",
					j.ID, j.EstimatedRecords, ErrRecordCount)
			}
			if progress != nil && time.Since(last) >= 100*time.Millisecond {
				last = time.Now()
				progress(p)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return p.Bytes, ctx.Err()
			}
			return p.Bytes, fmt.Errorf("logclient: download of export %s cut after %d bytes: %w: %w", j.ID, p.Bytes, logs.ErrUnavailable, rerr)
		}
	}
	if p.Size >= 0 && p.Bytes != p.Size {
		return p.Bytes, fmt.Errorf("logclient: download of export %s: %d bytes of %d: %w", j.ID, p.Bytes, p.Size, logs.ErrUnavailable)
	}
	p.Records, p.Done = counter.Close(), true
	if progress != nil {
		progress(p)
	}
	if err := counter.Err(); err != nil {
		return p.Bytes, fmt.Errorf("logclient: export %s: the %s file is malformed: %v: %w", j.ID, j.Format, err, ErrRecordCount)
	}
	if p.Records != j.EstimatedRecords {
		return p.Bytes, fmt.Errorf("logclient: export %s: the file holds %d records, the export announced %d: %w",
			j.ID, p.Records, j.EstimatedRecords, ErrRecordCount)
	}
	return p.Bytes, nil
}

// ExportOptions configure Export.
type ExportOptions struct {
	MaxPoll  time.Duration    // the longest wait between polls (5s by default)
	Progress func(Progress)   // called as the file arrives
	OnJob    func(*ExportJob) // called with the submitted job, then with the ready one
	OnPoll   func(*ExportJob) // called with each state polled (ExportedRecords: how far it is)
}

// Export submits an export of f's matches in format, waits until it is
// ready, and downloads it to w, checking its record count. It returns the
// job; on an error after submission the job is returned too, so that the
// caller can name it.
func (c *Client) Export(ctx context.Context, format Format, f logquery.Filter, w io.Writer, opts *ExportOptions) (*ExportJob, error) {
	var o ExportOptions
	if opts != nil {
		o = *opts
	}
	j, err := c.SubmitExport(ctx, format, f)
	if err != nil {
		return nil, err
	}
	if o.OnJob != nil {
		o.OnJob(j)
	}
	ready, err := c.waitExport(ctx, j.ID, o.MaxPoll, o.OnPoll)
	if err != nil {
		if ready != nil {
			return ready, err
		}
		return j, err
	}
	if o.OnJob != nil {
		o.OnJob(ready)
	}
	_, err = c.DownloadExport(ctx, ready, w, o.Progress)
	return ready, err
}
