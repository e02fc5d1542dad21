package logexport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

var (
	errLeaseLost = errors.New("logexport: lease lost")
	errDeadline  = errors.New("logexport: deadline")
	errClosed    = fmt.Errorf("logexport: exporter closed: %w", logs.ErrUnavailable)
)

// Start launches Options.Workers workers and the janitor, which run until
// Close. It is an error to Start a closed Exporter; a second Start does
// nothing.
func (e *Exporter) Start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errClosed
	}
	if e.started {
		return nil
	}
	e.started = true
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	for range e.opts.Workers {
		e.wg.Go(func() { e.worker(ctx) })
	}
	e.wg.Go(func() { e.janitor(ctx) })
	return nil
}

// Close stops the workers and waits for them. A job being written is given
// back (its attempt not counted) so that another process takes it up at
// once. Close does not close the store, database or bucket.
func (e *Exporter) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	cancel := e.cancel
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	e.wg.Wait()
	return nil
}

// jitter returns d plus up to a fifth of it, so that replicas spread out.
func jitter(d time.Duration) time.Duration {
	return d + rand.N(d/5+1)
}

func (e *Exporter) worker(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			ran, err := e.runOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					e.log.Warn("logexport: worker", "err", err)
				}
				break
			}
			if !ran {
				break
			}
		}
		t.Reset(jitter(e.opts.Poll))
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-t.C:
		}
	}
}

func (e *Exporter) janitor(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := e.sweep(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("logexport: janitor", "err", err)
		}
		t.Reset(jitter(e.opts.Poll))
	}
}

// sweep fails abandoned jobs, deletes due files and forgets old jobs.
func (e *Exporter) sweep(ctx context.Context) error {
	now := e.now()
	failed, err := e.failAbandoned(ctx, now)
	if err != nil {
		return err
	}
	for _, r := range failed {
		e.log.Warn("logexport: job failed", "id", r.ID, "tenant", r.TenantID, "attempts", r.Attempts, "reason", r.Reason)
		// A worker that lost its lease may have finished writing the file.
		e.deleteFile(ctx, r.BlobKey)
	}
	for {
		due, err := e.jobs.DueExportFiles(ctx, now, 100)
		if err != nil {
			return err
		}
		for _, r := range due {
			if err := e.deleteFile(ctx, r.BlobKey); err != nil {
				return err
			}
			if err := e.jobs.ExpireExportJob(ctx, r.ID); err != nil {
				return err
			}
		}
		if len(due) < 100 {
			break
		}
	}
	if n, err := e.jobs.DeleteExportJobs(ctx, now.Add(-e.opts.JobRetention)); err != nil {
		return err
	} else if n > 0 {
		e.log.Info("logexport: forgot old jobs", "count", n)
	}
	return nil
}

func (e *Exporter) deleteFile(ctx context.Context, key string) error {
	err := e.bucket.Delete(ctx, key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("logexport: delete %s: %w: %w", key, bucketCode(err), err)
	}
	return nil
}

// runOnce claims one job and runs it to its end. It reports whether there
// was a job; the error is about the job table, not the job.
func (e *Exporter) runOnce(ctx context.Context) (bool, error) {
	owner := uuid.NewString()
	now := e.now()
	r, err := e.jobs.ClaimExportJob(ctx, owner, now, now.Add(e.opts.Lease), e.opts.MaxAttempts)
	if err != nil || r == nil {
		return false, err
	}
	e.signal() // another worker may find another job
	log := e.log.With("id", r.ID, "tenant", r.TenantID, "attempt", r.Attempts)
	log.Info("logexport: job claimed", "format", r.Format, "estimatedRecords", r.EstimatedRecords)

	leaseCtx, loseLease := context.WithCancelCause(ctx)
	defer loseLease(nil)
	workCtx, cancelWork := context.WithDeadlineCause(leaseCtx, r.DeadlineAt, errDeadline)
	defer cancelWork()

	var wg sync.WaitGroup
	var progress atomic.Int64
	stopRenew := make(chan struct{})
	wg.Go(func() { e.renewLoop(ctx, r.ID, owner, &progress, stopRenew, loseLease, log) })
	start := time.Now()
	n, werr := e.write(workCtx, r, &progress)
	close(stopRenew)
	wg.Wait()

	// Bookkeeping must happen even when ctx ends (shutdown).
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now = e.now()
	if werr == nil {
		if workCtx.Err() == nil {
			ok, err := e.jobs.CompleteExportJob(bctx, r.ID, owner, n, now, now.Add(e.opts.Retention))
			if err != nil {
				return true, err
			}
			if ok {
				if n != r.EstimatedRecords {
					log.Warn("logexport: records differ from the estimate", "records", n)
				}
				log.Info("logexport: job ready", "records", n, "seconds", time.Since(start).Seconds())
				return true, nil
			}
		}
		werr = context.Cause(workCtx)
		if werr == nil {
			werr = errLeaseLost
		}
	}

	switch cause := context.Cause(workCtx); {
	case errors.Is(cause, errLeaseLost):
		log.Warn("logexport: lease lost; another worker has the job")
		return true, nil
	case ctx.Err() != nil:
		ok, err := e.jobs.ReleaseExportJob(bctx, r.ID, owner, "", time.Time{}, false)
		log.Info("logexport: job given back at shutdown", "released", ok)
		return true, err
	case errors.Is(cause, errDeadline):
		_, err := e.jobs.FailExportJob(bctx, r.ID, owner, e.deadlineReason(), now)
		e.deleteFile(bctx, r.BlobKey)
		log.Warn("logexport: job failed: deadline", "records", n)
		return true, err
	}
	reason := failureReason(werr)
	if logs.Code(werr) == logs.CodeInvalid || r.Attempts >= e.opts.MaxAttempts {
		if r.Attempts > 1 {
			reason = fmt.Sprintf("%s (after %d attempts)", reason, r.Attempts)
		}
		_, err := e.jobs.FailExportJob(bctx, r.ID, owner, reason, now)
		log.Warn("logexport: job failed", "err", werr, "reason", reason)
		return true, err
	}
	backoff := min(time.Duration(1<<min(r.Attempts, 10))*time.Second, e.opts.Lease)
	_, err = e.jobs.ReleaseExportJob(bctx, r.ID, owner, reason, now.Add(backoff), true)
	log.Warn("logexport: job attempt failed; will retry", "err", werr, "retryIn", backoff)
	return true, err
}

// renewLoop renews owner's lease every Progress until stop, storing the
// progress with it; when the lease is lost, or cannot be renewed for most
// of its length, it cancels the work.
func (e *Exporter) renewLoop(ctx context.Context, id, owner string, progress *atomic.Int64, stop <-chan struct{},
	lose context.CancelCauseFunc, log interface{ Warn(string, ...any) }) {
	t := time.NewTicker(e.opts.Progress)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := e.jobs.RenewExportJob(ctx, id, owner, e.now().Add(e.opts.Lease), progress.Load())
		switch {
		case err == nil && ok:
			last = time.Now()
		case err == nil:
			lose(errLeaseLost)
			return
		default:
			log.Warn("logexport: renew lease", "err", err)
			if time.Since(last) > e.opts.Lease*2/3 {
				lose(errLeaseLost)
				return
			}
		}
	}
}

// deadlineReason is the failure reason of a job past Options.Deadline.
func (e *Exporter) deadlineReason() string {
	return fmt.Sprintf("the export did not finish within %s of its submission", e.opts.Deadline)
}

// failureReason says what went wrong in words fit for the client.
func failureReason(err error) string {
	var we *writeError
	switch {
	case logs.Code(err) == logs.CodeInvalid:
		return "the export's filter or snapshot was refused by the store"
	case errors.As(err, &we):
		return "the export file could not be written to storage"
	case logs.Code(err) == logs.CodeUnavailable:
		return "the log store was unavailable while reading the logs"
	}
	return "an internal error occurred while reading the logs"
}

// writeError marks a failure of the bucket, as opposed to the store.
type writeError struct{ err error }

func (w *writeError) Error() string { return "logexport: write: " + w.err.Error() }
func (w *writeError) Unwrap() error { return w.err }

// write streams the job's entries into its file and returns how many it
// wrote, counting them in progress as it goes (a chunk at a time). The file
// exists only if it returns no error.
func (e *Exporter) write(ctx context.Context, r *logstore.ExportJob, progress *atomic.Int64) (n int64, err error) {
	f := r.Filter
	format := Format(r.Format)
	wctx, abort := context.WithCancel(ctx)
	defer abort()
	w, err := e.bucket.NewWriter(wctx, r.BlobKey, &blob.WriterOptions{
		ContentType:        format.ContentType(),
		ContentDisposition: `attachment; filename="` + r.ID + "." + r.Format + `"`,
	})
	if err != nil {
		return 0, &writeError{fmt.Errorf("%w: %w", bucketCode(err), err)}
	}
	defer func() {
		if err != nil {
			abort() // a canceled writer discards what it has
			_ = w.Close()
		}
	}()
	bw := bufio.NewWriterSize(w, e.opts.BufferSize)
	enc, err := newEncoder(format, bw)
	if err != nil {
		return 0, err
	}
	wfail := func(err error) error {
		if c := context.Cause(ctx); c != nil {
			return c
		}
		return &writeError{fmt.Errorf("%w: %w", bucketCode(err), err)}
	}
	if err := enc.begin(); err != nil {
		return 0, wfail(err)
	}
	// The store is read in its own goroutine, a few chunks ahead of the
	// encoder, so that reading and encoding overlap.
	sctx, stopScan := context.WithCancel(ctx)
	chunks, scanErr := e.scan(sctx, r, f)
	defer func() {
		stopScan()
		for range chunks { // let the reader end
		}
	}()
	for chunk := range chunks {
		for i := range chunk {
			if ctx.Err() != nil {
				return n, context.Cause(ctx)
			}
			if err := enc.entry(&chunk[i]); err != nil {
				return n, wfail(err)
			}
			n++
			if e.rowHook != nil {
				e.rowHook(ctx, n)
			}
		}
		progress.Store(n)
	}
	if err := <-scanErr; err != nil {
		if c := context.Cause(ctx); c != nil {
			return n, c
		}
		return n, err
	}
	if c := context.Cause(ctx); c != nil {
		return n, c
	}
	if err := enc.end(); err != nil {
		return n, wfail(err)
	}
	if err := bw.Flush(); err != nil {
		return n, wfail(err)
	}
	if err := w.Close(); err != nil {
		return n, wfail(err)
	}
	return n, nil
}

// Reading ahead: chunks of chunkSize entries, at most chunksAhead waiting.
const (
	chunkSize   = 256
	chunksAhead = 8
)

// scan reads the job's entries in a goroutine and sends them in chunks. The
// chunk channel is closed at the end; then the error channel gives the
// scan's error or nil. Cancel ctx and drain the chunks to stop it early.
func (e *Exporter) scan(ctx context.Context, r *logstore.ExportJob, f logquery.Filter) (<-chan []logstore.RawEntry, <-chan error) {
	chunks := make(chan []logstore.RawEntry, chunksAhead)
	errc := make(chan error, 1)
	go func() {
		defer close(chunks)
		send := func(chunk []logstore.RawEntry) bool {
			select {
			case chunks <- chunk:
				return true
			case <-ctx.Done():
				errc <- ctx.Err()
				return false
			}
		}
		chunk := make([]logstore.RawEntry, 0, chunkSize)
		for entry, err := range scanRaw(ctx, e.store, r.TenantID, f, r.Snapshot) {
			if err != nil {
				errc <- err
				return
			}
			chunk = append(chunk, entry)
			if len(chunk) == chunkSize {
				if !send(chunk) {
					return
				}
				chunk = make([]logstore.RawEntry, 0, chunkSize)
			}
		}
		if len(chunk) > 0 && !send(chunk) {
			return
		}
		errc <- nil
	}()
	return chunks, errc
}

// scanRaw scans with the store's RawScanner when it has one (metadata copied
// as stored), else with Scan and the metadata encoded again.
func scanRaw(ctx context.Context, s logstore.Store, tenant string, f logquery.Filter, snap logstore.Snapshot) iter.Seq2[logstore.RawEntry, error] {
	if rs, ok := s.(logstore.RawScanner); ok {
		return rs.ScanRaw(ctx, tenant, f, snap)
	}
	return func(yield func(logstore.RawEntry, error) bool) {
		for e, err := range s.Scan(ctx, tenant, f, snap) {
			var r logstore.RawEntry
			if err == nil {
				r.Metadata, err = logs.EncodeMetadata(e.Metadata)
				e.Metadata = nil
				r.Entry = e
			}
			if !yield(r, err) || err != nil {
				return
			}
		}
	}
}
