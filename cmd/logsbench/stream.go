package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// streamTenants is how many tenants the streams are spread over (each entry
// written meanwhile reaches the streams of its tenant).
const streamTenants = 100

// spread is how many tenants the streams are spread over.
func spread(c *config) int { return min(c.Streams, streamTenants) }

// sentAtKey is the metadata key the writer puts its clock in, unix nanoseconds.
var sentAtKey = []byte(`"sentAt":`)

// recorder collects latencies while on is set.
type recorder struct {
	on  atomic.Bool
	mu  sync.Mutex
	got []time.Duration
}

func (r *recorder) add(d time.Duration) {
	if r.on.Load() {
		r.mu.Lock()
		r.got = append(r.got, d)
		r.mu.Unlock()
	}
}

// paced calls f rate/5 times a second (each call writes 5 entries), for
// tenants 0, 1, ... tenants-1 in turn, from a few goroutines, until ctx
// ends, and records each call's time.
func paced(ctx context.Context, rate, tenants int, f func(ctx context.Context, k int) error, calls *recorder) (dropped int64, err error) {
	per := time.Second / time.Duration(rate/5)
	work := make(chan int, 64)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				start := time.Now()
				if err := f(ctx, k); err != nil {
					if ctx.Err() == nil {
						firstErr.CompareAndSwap(nil, err)
					}
					continue
				}
				calls.add(time.Since(start))
			}
		}()
	}
	t := time.NewTicker(per)
	defer t.Stop()
	for k := 0; ; k++ {
		select {
		case <-ctx.Done():
			close(work)
			wg.Wait()
			if e, ok := firstErr.Load().(error); ok {
				return dropped, e
			}
			return dropped, nil
		case <-t.C:
			select {
			case work <- k % tenants:
			default:
				dropped++ // the writers are behind: the rate is not reached
			}
		}
	}
}

func measureStreams(ctx context.Context, c *config, d *dataset, r *raw, s *logsd, rep *report, logf func(string, ...any)) error {
	logf("stream: opening %d streams over %d tenants", c.Streams, spread(c))
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.Streams, DisableCompression: true}}
	lat := &recorder{}
	var ready, done sync.WaitGroup
	var failed atomic.Int64
	dial := make(chan struct{}, 32)
	for i := range c.Streams {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			readyOnce := sync.OnceFunc(ready.Done)
			defer readyOnce()
			dial <- struct{}{}
			tenant := tenantID(i % spread(c))
			req, _ := http.NewRequestWithContext(sctx, http.MethodGet, s.base+"/api/v1/logs/stream", nil)
			req.Header.Set("Authorization", "Bearer "+s.token(tenant))
			req.Header.Set("X-Tenant-ID", tenant)
			req.Header.Set("Accept", "text/event-stream")
			// A loaded machine drops a connection now and then: try thrice.
			resp, err := client.Do(req)
			for try := 1; try < 3 && sctx.Err() == nil && (err != nil || resp.StatusCode != http.StatusOK); try++ {
				if err == nil {
					resp.Body.Close()
				}
				time.Sleep(time.Duration(try) * 100 * time.Millisecond)
				resp, err = client.Do(req.Clone(sctx))
			}
			<-dial
			if err != nil || resp.StatusCode != http.StatusOK {
				if sctx.Err() == nil {
					failed.Add(1)
				}
				if err == nil {
					resp.Body.Close()
				}
				return
			}
			defer resp.Body.Close()
			br := bufio.NewReaderSize(resp.Body, 16<<10)
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if bytes.HasPrefix(line, []byte("id:")) {
					readyOnce()
				}
				if !bytes.HasPrefix(line, []byte("data:")) {
					continue
				}
				now := time.Now()
				if j := bytes.Index(line, sentAtKey); j >= 0 {
					rest := line[j+len(sentAtKey):]
					k := 0
					for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
						k++
					}
					if ns, err := strconv.ParseInt(string(rest[:k]), 10, 64); err == nil {
						lat.add(now.Sub(time.Unix(0, ns)))
					}
				}
			}
		}()
	}
	ready.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("stream: %d of %d streams could not be opened", n, c.Streams)
	}
	logf("stream: %d streams open; writing %d entries/s in requests of 5 for %s", c.Streams, c.StreamRate, c.StreamTime)
	writes := &recorder{}
	wctx, wcancel := context.WithCancel(ctx)
	var dropped int64
	var werr error
	var wdone sync.WaitGroup
	wdone.Add(1)
	go func() {
		defer wdone.Done()
		dropped, werr = paced(wctx, c.StreamRate, spread(c), func(ctx context.Context, k int) error {
			var b bytes.Buffer
			b.WriteString(`{"logs":[`)
			for j := range 5 {
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"level":"info","source":"auth","message":"User u%d signed in","metadata":{"sentAt":%d}}`, j, time.Now().UnixNano())
			}
			b.WriteString(`]}`)
			return s.do(ctx, http.MethodPost, "/api/v1/logs", tenantID(k), b.Bytes(), http.StatusCreated, nil)
		}, writes)
	}()
	if err := sleep(ctx, warmUp(c)); err != nil {
		wcancel()
		return err
	}
	lat.on.Store(true)
	writes.on.Store(true)
	err := sleep(ctx, c.StreamTime)
	wcancel()
	wdone.Wait()
	_ = sleep(ctx, time.Second) // the last deliveries
	lat.on.Store(false)
	cancel()
	done.Wait()
	if err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("stream writes: %w", werr)
	}
	api := latencies(lat.got, true)
	api.Note = fmt.Sprintf("%s deliveries; writes p95 %s ms", count(len(lat.got)), num(latencies(writes.got, false).Values[1]))
	if dropped > 0 {
		api.Note += fmt.Sprintf("; %d requests not sent in time", dropped)
	}

	logf("stream: raw LISTEN/NOTIFY at the same rate for %s", c.StreamTime)
	rawLat, err := rawNotify(ctx, c, r)
	if err != nil {
		return fmt.Errorf("raw LISTEN/NOTIFY: %w", err)
	}
	raw := latencies(rawLat, true)
	raw.Note = "LISTEN/NOTIFY, one listener"
	rep.add(fmt.Sprintf("stream latency, %s streams over %d tenants, %d entries/s in requests of 5", count(c.Streams), spread(c), c.StreamRate), raw, api)
	return nil
}

// rawNotify writes 5 rows and a NOTIFY per transaction at c.StreamRate rows/s
// and measures the time until one listening connection gets the NOTIFY.
func rawNotify(ctx context.Context, c *config, r *raw) ([]time.Duration, error) {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN logsbench"); err != nil {
		return nil, err
	}
	defer conn.Exec(context.Background(), "UNLISTEN logsbench")
	lat := &recorder{}
	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	var ldone sync.WaitGroup
	ldone.Add(1)
	go func() {
		defer ldone.Done()
		for {
			n, err := conn.Conn().WaitForNotification(lctx)
			if err != nil {
				return
			}
			if ns, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
				lat.add(time.Since(time.Unix(0, ns)))
			}
		}
	}()
	wctx, wcancel := context.WithCancel(ctx)
	var werr error
	var wdone sync.WaitGroup
	wdone.Add(1)
	go func() {
		defer wdone.Done()
		_, werr = paced(wctx, c.StreamRate, 1, func(ctx context.Context, k int) error {
			sent := time.Now().UnixNano()
			return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO entries (id, tenant_id, level, source, message, metadata, created_at)
					SELECT gen_random_uuid(), $1, 'info', 'auth', 'User u' || g || ' signed in', '{}', now() FROM generate_series(1, 5) g`, ingestTenant); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, "SELECT pg_notify('logsbench', $1)", strconv.FormatInt(sent, 10))
				return err
			})
		}, &recorder{})
	}()
	if err := sleep(ctx, warmUp(c)); err != nil {
		wcancel()
		return nil, err
	}
	lat.on.Store(true)
	err = sleep(ctx, c.StreamTime)
	wcancel()
	wdone.Wait()
	_ = sleep(ctx, 500*time.Millisecond)
	lat.on.Store(false)
	lcancel()
	ldone.Wait()
	if err != nil {
		return nil, err
	}
	return lat.got, werr
}

// warmUp is how long the writes run before latencies count.
func warmUp(c *config) time.Duration { return min(2*time.Second, c.StreamTime) }

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
