// Command logsbench measures logsd against raw SQL on the same data.
//
//	logsbench [-n 200000] [-tenants 50] [-seed 1] [-postgres URL] [-parts all] [-json FILE]
//
// It generates N IAM-like entries (one tenant with 40% of them, 90 days,
// levels about 80/15/5, eight sources, messages with emails and IPs; the
// same seed gives the same entries), loads them into two scratch databases
// on the PostgreSQL server at -postgres, and measures the same work on both:
// raw SQL on a plain table with the indexes such a table would have (loaded
// by COPY, then vacuumed), and a real logsd over HTTP, started on loopback
// against its own database and loaded through its API. It prints one table
// with the ratio of logsd to raw SQL on every line, and drops both databases
// when it ends, also on Ctrl-C.
//
// Parts (-parts, comma-separated, default all): ingest (one entry per
// request from -clients clients; the batched load is always measured),
// list, stats, export, disk, stream.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// config is one run's settings.
type config struct {
	N                int
	Tenants          int
	Seed             uint64
	PostgresURL      string // a database of the server; scratch databases are made beside it
	Parts            map[string]bool
	JSON             string // file for the figures as JSON, "-" for stdout, "" for none
	Logsd            string // logsd binary; "" builds it with go build
	Reps             int    // timed runs of each read
	Batch            int    // entries per request (and per COPY) of the load
	Loaders          int    // concurrent loading clients
	Clients          int    // concurrent clients of one-entry ingest
	IngestTime       time.Duration
	Streams          int
	StreamRate       int // entries/s written during the stream measure
	StreamTime       time.Duration
	Keep             bool // keep the databases (to look into them afterwards)
	Stdout, Progress io.Writer
}

var allParts = []string{"ingest", "list", "stats", "export", "disk", "stream"}

func defaultPostgres() string {
	if u := os.Getenv("LOGS_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

func parseArgs(args []string, stdout, stderr io.Writer) (*config, error) {
	c := &config{Stdout: stdout, Progress: stderr}
	fs := flag.NewFlagSet("logsbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.N, "n", 200_000, "entries in the dataset")
	fs.IntVar(&c.Tenants, "tenants", 50, "tenants (the first has 40% of the entries)")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the dataset")
	fs.StringVar(&c.PostgresURL, "postgres", defaultPostgres(), "URL of a database on the PostgreSQL server (a superuser's: it creates and drops scratch databases); default $LOGS_TEST_POSTGRES_URL")
	parts := fs.String("parts", "all", "what to measure beside the load, comma-separated: "+strings.Join(allParts, ","))
	fs.StringVar(&c.JSON, "json", "", "also write the figures as JSON to this file (- for stdout)")
	fs.StringVar(&c.Logsd, "logsd", "", "logsd binary to run (default: go build ./cmd/logsd into a temporary folder)")
	fs.IntVar(&c.Reps, "reps", 20, "timed runs of each read")
	fs.IntVar(&c.Batch, "batch", 1000, "entries per request of the load")
	fs.IntVar(&c.Loaders, "loaders", 4, "concurrent clients of the load")
	fs.IntVar(&c.Clients, "clients", 64, "concurrent clients sending one entry per request")
	fs.DurationVar(&c.IngestTime, "ingest-time", 10*time.Second, "how long one-entry ingest is measured")
	fs.IntVar(&c.Streams, "streams", 1000, "open streams while measuring stream latency")
	fs.IntVar(&c.StreamRate, "stream-rate", 500, "entries/s written meanwhile, 5 a request")
	fs.DurationVar(&c.StreamTime, "stream-time", 20*time.Second, "how long stream latency is measured")
	fs.BoolVar(&c.Keep, "keep", false, "keep the scratch databases instead of dropping them (to look into them; drop them yourself)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case c.N < 100:
		return nil, errors.New("-n: at least 100")
	case c.Tenants < 1:
		return nil, errors.New("-tenants: at least 1")
	case c.Reps < 1 || c.Batch < 1 || c.Loaders < 1 || c.Clients < 1 || c.Streams < 1 || c.StreamRate < 5:
		return nil, errors.New("-reps, -batch, -loaders, -clients, -streams: at least 1; -stream-rate at least 5")
	}
	c.Parts = map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		p = strings.TrimSpace(p)
		known := p == "all"
		for _, q := range allParts {
			known = known || p == q
		}
		if !known {
			return nil, fmt.Errorf("-parts: unknown part %q (known: all,%s)", p, strings.Join(allParts, ","))
		}
		if p == "all" {
			for _, q := range allParts {
				c.Parts[q] = true
			}
		}
		c.Parts[p] = true
	}
	return c, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }() // a second Ctrl-C kills at once
	c, err := parseArgs(os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "logsbench:", err)
		os.Exit(2)
	}
	if _, err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "logsbench:", err)
		os.Exit(1)
	}
}
