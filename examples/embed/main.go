// Command embed shows a service that embeds the logs library: it writes its
// own log entries straight into the store (no HTTP), tails them live with a
// Broadcaster, and reads them back with a filter.
//
//	go run ./embed                                     # SQLite file in a temporary folder
//	go run ./embed -db postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// A logsd serving the same database streams and lists these entries too.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore/bunstore"
	"github.com/ithbat/logs/logstream"
)

func main() {
	db := flag.String("db", "", "database URL (default: a SQLite file in a temporary folder)")
	flag.Parse()
	if err := run(context.Background(), *db, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dbURL string, out io.Writer) error {
	if dbURL == "" {
		dir, err := os.MkdirTemp("", "logs-embed-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dbURL = "sqlite://" + filepath.Join(dir, "logs.db")
	}
	quiet := slog.New(slog.DiscardHandler)
	store, err := bunstore.Open(ctx, dbURL, &bunstore.Options{Logger: quiet})
	if err != nil {
		return err
	}
	defer store.Close()
	stream, err := logstream.New(store, &logstream.Options{Logger: quiet})
	if err != nil {
		return err
	}
	defer stream.Close()

	const tenant = "acme"
	// Tail the tenant's errors from now on.
	sub, err := stream.Subscribe(ctx, tenant, logquery.Filter{Level: logs.LevelError}, nil)
	if err != nil {
		return err
	}
	defer sub.Close()

	// Write: a batch is stored whole or not at all; ids and times are
	// assigned where missing.
	written, err := store.Append(ctx, tenant, []logs.Entry{
		{Level: logs.LevelInfo, Source: "auth", Message: "User signed in", Metadata: map[string]any{"userId": "u1"}},
		{Level: logs.LevelError, Source: "auth", Message: "Failed login attempt — invalid credentials",
			Metadata: map[string]any{"userId": "u2", "ip": "102.45.67.89"}},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %d entries\n", len(written))

	// Live: the error arrives on the subscription.
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for got := 0; got == 0; {
		select {
		case <-sub.Ready():
		case <-wait.Done():
			return fmt.Errorf("no live entry: %w", wait.Err())
		}
		events, err := sub.Next(wait)
		if err != nil {
			return err
		}
		for _, ev := range events {
			fmt.Fprintf(out, "live: %s %s %s\n", ev.Entry.Level, ev.Entry.Source, ev.Entry.Message)
			got++
		}
	}

	// Read: the list query of the API, newest first, with its total.
	f, err := logquery.New().Source("auth").Search("login").Build()
	if err != nil {
		return err
	}
	page, err := store.Query(ctx, tenant, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "query: %d of %d match %s\n", len(page.Entries), page.Total, f)
	return nil
}
