package logclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

// IngestOptions configure Ingest. The zero value (or nil) gives the
// defaults.
type IngestOptions struct {
	// BatchSize is the most entries a request carries: 1,000 by default,
	// at most the server's 10,000.
	BatchSize int
	// MaxBatchBytes is the most bytes a request carries (an entry larger
	// than it goes alone): 4 MiB by default, the server takes 10 MiB.
	MaxBatchBytes int
	// MaxRetries is how often a batch is sent again after an error a retry
	// may cure (no answer, 429, 5xx): 5 by default; negative for none.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the wait between retries (200ms,
	// 10s by default); a Retry-After of the server is waited at least.
	MinBackoff, MaxBackoff time.Duration
	// OnRetry, when set, is called before each retry.
	OnRetry func(err error, attempt int, wait time.Duration)
}

// Prepare gives each entry without an id a UUIDv7 of its time, and each
// entry without a time the time now, so that sending the entries again
// stores nothing twice (the server keeps an id once). Entries of the same
// time get ids that increase in their order, so that a list (newest first,
// ties by id) shows them last first, as if they had been written one by
// one. It changes entries in place. Ingest calls it.
func Prepare(entries []logs.Entry) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	byTime := map[time.Time][]int{} // the entries that need an id, by time
	for i := range entries {
		e := &entries[i]
		if e.CreatedAt.IsZero() {
			e.CreatedAt = now
		}
		if e.ID == "" {
			t := e.CreatedAt.UTC().Truncate(time.Microsecond)
			byTime[t] = append(byTime[t], i)
		}
	}
	for t, idx := range byTime {
		ids := make([]string, len(idx))
		for k := range ids {
			id, err := logstore.NewID(t)
			if err != nil {
				return fmt.Errorf("logclient: new id: %w", err)
			}
			ids[k] = id
		}
		slices.Sort(ids)
		for k, i := range idx {
			entries[i].ID = ids[k]
		}
	}
	return nil
}

// Ingest writes entries to the tenant, in batches, and returns their ids
// in order. Entries without an id or time get them first (see Prepare; the
// caller's slice is not changed), so a batch sent again after an error
// (the retries of Ingest, or the caller's own call of Ingest with the same
// prepared entries) stores nothing twice. On an error it returns the ids
// of the batches stored before it; the error names the entry at fault by
// its index in entries (logs[i].field).
func (c *Client) Ingest(ctx context.Context, entries []logs.Entry, opts *IngestOptions) ([]string, error) {
	o := IngestOptions{BatchSize: 1000, MaxBatchBytes: 4 << 20, MaxRetries: 5, MinBackoff: 200 * time.Millisecond, MaxBackoff: 10 * time.Second}
	if opts != nil {
		if opts.BatchSize > 0 {
			o.BatchSize = min(opts.BatchSize, 10_000)
		}
		if opts.MaxBatchBytes > 0 {
			o.MaxBatchBytes = opts.MaxBatchBytes
		}
		if opts.MaxRetries != 0 {
			o.MaxRetries = max(opts.MaxRetries, 0)
		}
		if opts.MinBackoff > 0 {
			o.MinBackoff = opts.MinBackoff
		}
		if opts.MaxBackoff > 0 {
			o.MaxBackoff = opts.MaxBackoff
		}
		o.OnRetry = opts.OnRetry
	}
	prepared := append([]logs.Entry(nil), entries...)
	if err := Prepare(prepared); err != nil {
		return nil, err
	}
	lines := make([][]byte, len(prepared))
	for i := range prepared {
		line, err := prepared[i].MarshalJSON()
		if err != nil {
			return nil, logs.Invalid(fmt.Sprintf("logs[%d].metadata", i), "cannot be encoded as JSON: %v", err)
		}
		lines[i] = line
	}
	ids := make([]string, 0, len(prepared))
	first, size := 0, 0 // the batch being gathered: lines[first:i], of size bytes
	for i := 0; i <= len(lines); i++ {
		if i > first && (i == len(lines) || i-first >= o.BatchSize || size+len(lines[i])+1 > o.MaxBatchBytes) {
			got, err := c.ingestBatch(ctx, lines[first:i], first, o)
			ids = append(ids, got...)
			if err != nil {
				return ids, err
			}
			first, size = i, 0
		}
		if i < len(lines) {
			size += len(lines[i]) + 1
		}
	}
	return ids, nil
}

// ingestBatch sends the NDJSON lines of one batch, the first being entry
// first of the caller's, with retries; a batch the server finds too large
// (413) is sent again in halves. It returns the ids stored.
func (c *Client) ingestBatch(ctx context.Context, lines [][]byte, first int, o IngestOptions) ([]string, error) {
	body := bytes.Join(lines, []byte("\n"))
	b := Backoff{Min: o.MinBackoff, Max: o.MaxBackoff}
	for attempt := 0; ; attempt++ {
		var data struct {
			IDs   []string `json:"ids"`
			Count int      `json:"count"`
		}
		resp, err := c.do(ctx, http.MethodPost, "/api/v1/logs", nil, body, "application/x-ndjson", &data)
		if err == nil {
			if len(data.IDs) != len(lines) {
				return nil, badAnswer(resp, "the server stored %d entries of a batch of %d", len(data.IDs), len(lines))
			}
			return data.IDs, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if logs.Code(err) == logs.CodeTooLarge && len(lines) > 1 {
			half := len(lines) / 2
			ids, err := c.ingestBatch(ctx, lines[:half], first, o)
			if err != nil {
				return ids, err
			}
			more, err := c.ingestBatch(ctx, lines[half:], first+half, o)
			return append(ids, more...), err
		}
		if !retryable(err) || attempt >= o.MaxRetries {
			return nil, shiftField(err, first)
		}
		wait := max(b.Next(), retryAfter(err))
		if o.OnRetry != nil {
			o.OnRetry(err, attempt+1, wait)
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

var entryField = regexp.MustCompile(`^logs\[(\d+)\]`)

// shiftField renames logs[i] in the field of a server error to the index
// of the entry in the caller's slice.
func shiftField(err error, first int) error {
	var e *Error
	if !errors.As(err, &e) || first == 0 {
		return err
	}
	m := entryField.FindStringSubmatch(e.Field)
	if m == nil {
		return err
	}
	i, _ := strconv.Atoi(m[1])
	shifted := *e
	shifted.Field = fmt.Sprintf("logs[%d]", first+i) + e.Field[len(m[0]):]
	return &shifted
}
