package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// run does one benchmark run and prints its table. The report comes back
// also with an error (the figures so far, the databases made).
func run(ctx context.Context, c *config) (rep *report, err error) {
	d := &dataset{n: c.N, tenants: c.Tenants, seed: c.Seed, end: time.Now().UTC().Truncate(time.Second)}
	rep = &report{Entries: c.N, Tenants: c.Tenants, Seed: c.Seed, StartedAt: time.Now().UTC()}
	logf := func(format string, args ...any) {
		fmt.Fprintf(c.Progress, "%s logsbench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	// A part that fails does not lose what the others measured.
	defer func() {
		if err != nil && len(rep.Rows) > 0 {
			rep.Notes = append(rep.Notes, "the run stopped early: "+err.Error())
			rep.print(c.Stdout)
			if c.JSON != "" {
				_ = rep.writeJSON(c.JSON, c.Stdout)
			}
		}
	}()

	s := &scratch{admin: c.PostgresURL, keep: c.Keep}
	defer s.cleanup(logf)
	defer func() { rep.databases = s.made }()
	rawURL, err := s.create(ctx, "raw")
	if err != nil {
		return rep, err
	}
	apiURL, err := s.create(ctx, "logsd")
	if err != nil {
		return rep, err
	}
	raw, err := openRaw(ctx, rawURL, max(c.Clients, c.Loaders)+2)
	if err != nil {
		return rep, err
	}
	defer raw.close()
	srv, err := startLogsd(ctx, c, apiURL, logf)
	if err != nil {
		return rep, err
	}
	defer srv.stop()

	logf("loading %d entries into the raw table (COPY, batches of %d, %d clients)", c.N, c.Batch, c.Loaders)
	var largest atomic.Int64
	rawLoad, err := load(ctx, d, c.Batch, c.Loaders, func(ctx context.Context, b []entry) error {
		if b[0].tenant == 0 {
			largest.Add(int64(len(b)))
		}
		return raw.copy(ctx, b)
	})
	if err != nil {
		return rep, fmt.Errorf("raw load: %w", err)
	}
	rep.Largest = largest.Load()
	logf("raw load: %s (%.0f rows/s); vacuuming", rawLoad.Round(time.Millisecond), float64(c.N)/rawLoad.Seconds())
	if err := raw.vacuum(ctx); err != nil {
		return rep, err
	}
	logf("loading %d entries through logsd's API (batches of %d, %d clients)", c.N, c.Batch, c.Loaders)
	apiLoad, err := load(ctx, d, c.Batch, c.Loaders, srv.ingest)
	if err != nil {
		return rep, fmt.Errorf("logsd load: %w", err)
	}
	logf("logsd load: %s (%.0f rows/s); waiting for its consumers", apiLoad.Round(time.Millisecond), float64(c.N)/apiLoad.Seconds())
	if err := srv.waitConsumers(ctx, time.Now()); err != nil {
		return rep, err
	}
	// A served table is not vacuumed by hand, but autovacuum analyzes what
	// was loaded within a minute or so; where it is off (as on this
	// project's machine), do its ANALYZE, and nothing more (no VACUUM: the
	// visibility map stays as a busy table's).
	var autovacuum string
	if err := srv.db.QueryRow(ctx, "SHOW autovacuum").Scan(&autovacuum); err != nil {
		return rep, err
	}
	if autovacuum != "on" {
		logf("autovacuum is %s on this server: running the ANALYZE it would run on logsd's database", autovacuum)
		if _, err := srv.db.Exec(ctx, "ANALYZE"); err != nil {
			return rep, err
		}
		rep.Notes = append(rep.Notes, "autovacuum is off on this server: logsbench ran ANALYZE (not VACUUM) on logsd's database after the load, as autovacuum would")
	}
	rep.add(fmt.Sprintf("ingest, batches of %d from %d clients (raw: COPY into the indexed table)", c.Batch, c.Loaders),
		rate(c.N, rawLoad), rate(c.N, apiLoad))

	if c.Parts["disk"] {
		logf("disk")
		rb, err := raw.diskBytes(ctx)
		if err != nil {
			return rep, err
		}
		lb, err := srv.diskBytes(ctx)
		if err != nil {
			return rep, err
		}
		rep.add("disk per entry (every table with its indexes; logsd with its rollups and verifiable log)",
			figure{Unit: "bytes", Values: []float64{float64(rb) / float64(c.N)}},
			figure{Unit: "bytes", Values: []float64{float64(lb) / float64(c.N)}})
		parts, err := srv.diskParts(ctx)
		if err != nil {
			return rep, err
		}
		names := slices.SortedFunc(maps.Keys(parts), func(a, b string) int { return cmp.Compare(parts[b], parts[a]) })
		var b strings.Builder
		for _, name := range names {
			if parts[name] >= int64(c.N) { // at least a byte an entry
				fmt.Fprintf(&b, ", %s %.0f", name, float64(parts[name])/float64(c.N))
			}
		}
		if b.Len() > 0 {
			rep.Notes = append(rep.Notes, "logsd's disk per entry by table (bytes, with indexes): "+b.String()[2:])
		}
	}
	if c.Parts["list"] {
		if err := measureLists(ctx, c, d, raw, srv, rep, logf); err != nil {
			return rep, err
		}
	}
	if c.Parts["stats"] {
		if err := measureStats(ctx, c, d, raw, srv, rep, logf); err != nil {
			return rep, err
		}
	}
	if c.Parts["export"] {
		if err := measureExports(ctx, raw, srv, rep, logf); err != nil {
			return rep, err
		}
	}
	if c.Parts["ingest"] {
		logf("one entry per request from %d clients, %s each side", c.Clients, c.IngestTime)
		rn, rd, err := concurrently(ctx, c.Clients, c.IngestTime, raw.insertOne)
		if err != nil {
			return rep, fmt.Errorf("raw one-entry ingest: %w", err)
		}
		ln, ld, err := concurrently(ctx, c.Clients, c.IngestTime, srv.ingestOne)
		if err != nil {
			return rep, fmt.Errorf("logsd one-entry ingest: %w", err)
		}
		rep.add(fmt.Sprintf("ingest, one entry per request from %d clients (raw: one INSERT per transaction)", c.Clients),
			rate(rn, rd), rate(ln, ld))
	}
	if c.Parts["stream"] {
		if err := measureStreams(ctx, c, d, raw, srv, rep, logf); err != nil {
			return rep, err
		}
	}
	rep.print(c.Stdout)
	if c.JSON != "" {
		if err := rep.writeJSON(c.JSON, c.Stdout); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// load hands the dataset to write in batches of one tenant's entries, from
// clients goroutines, and returns how long it took.
func load(ctx context.Context, d *dataset, size, clients int, write func(context.Context, []entry) error) (time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan []entry, clients*2)
	go func() {
		defer close(batches)
		pending := make([][]entry, d.tenants)
		send := func(b []entry) bool {
			select {
			case batches <- b:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for i := 0; i < d.n; i++ {
			e := d.entry(i)
			pending[e.tenant] = append(pending[e.tenant], e)
			if len(pending[e.tenant]) == size {
				if !send(pending[e.tenant]) {
					return
				}
				pending[e.tenant] = make([]entry, 0, size)
			}
		}
		for _, b := range pending {
			if len(b) > 0 && !send(b) {
				return
			}
		}
	}()
	start := time.Now()
	workers(clients, cancel, func() error {
		for b := range batches {
			if err := write(ctx, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err := context.Cause(ctx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// workers runs f in n goroutines and waits for them; an error cancels.
func workers(n int, cancel context.CancelCauseFunc, f func() error) {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
}

// concurrently runs f from clients goroutines for d and returns how many
// calls succeeded in how long. The first error stops it.
func concurrently(ctx context.Context, clients int, d time.Duration, f func(ctx context.Context, n int64) error) (int, time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var n, seq atomic.Int64
	stop := time.Now().Add(d)
	start := time.Now()
	workers(clients, cancel, func() error {
		for time.Now().Before(stop) && ctx.Err() == nil {
			if err := f(ctx, seq.Add(1)); err != nil {
				return err
			}
			n.Add(1)
		}
		return nil
	})
	if err := context.Cause(ctx); err != nil {
		return 0, 0, err
	}
	return int(n.Load()), time.Since(start), nil
}

// timeReps runs f once to warm up, then reps times, and returns the times.
func timeReps(ctx context.Context, reps int, f func(context.Context) error) ([]time.Duration, error) {
	if err := f(ctx); err != nil {
		return nil, err
	}
	out := make([]time.Duration, 0, reps)
	for range reps {
		start := time.Now()
		if err := f(ctx); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// scratch makes databases beside the admin URL's and drops them.
type scratch struct {
	admin string
	keep  bool
	mu    sync.Mutex
	names []string // to drop
	made  []string // every one made
}

// dbPrefix starts the name of every database logsbench makes.
const dbPrefix = "logsbench_"

func (s *scratch) create(ctx context.Context, kind string) (string, error) {
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", redact(s.admin), err)
	}
	defer conn.Close(context.Background())
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := dbPrefix + hex.EncodeToString(b[:]) + "_" + kind
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	s.mu.Lock()
	s.names = append(s.names, name)
	s.made = append(s.made, name)
	s.mu.Unlock()
	u, err := url.Parse(s.admin)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// cleanup drops every database create made, with a context of its own (the
// run's may be cancelled: Ctrl-C).
func (s *scratch) cleanup(logf func(string, ...any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.names) == 0 {
		return
	}
	if s.keep {
		logf("kept the databases %v", s.names)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		logf("cannot drop %v: %v", s.names, err)
		return
	}
	defer conn.Close(context.Background())
	for _, name := range s.names {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			logf("drop %s: %v", name, err)
		}
	}
	logf("dropped %v", s.names)
	s.names = nil
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "the database URL"
	}
	return p.Redacted()
}
