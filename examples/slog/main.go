// Command slog shows a service that logs with log/slog into the logs
// library's store, which it embeds: logslog turns each record into an
// entry (level, the service as source, attributes as metadata), batched
// in the background.
//
//	go run ./slog                 # SQLite file in a temporary folder
//	go run ./slog -db postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// To log to a logsd instead, give logslog.ClientSink(client, nil) (a
// logclient.Client) as the sink.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logslog"
	"github.com/ithbat/logs/logstore/bunstore"
)

func main() {
	db := flag.String("db", "", "database URL (default: a SQLite file in a temporary folder)")
	flag.Parse()
	if err := run(context.Background(), *db, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "slog:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dbURL string, out io.Writer) error {
	if dbURL == "" {
		dir, err := os.MkdirTemp("", "logs-slog-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dbURL = "sqlite://" + filepath.Join(dir, "logs.db")
	}
	store, err := bunstore.Open(ctx, dbURL, nil)
	if err != nil {
		return err
	}
	defer store.Close()

	h, err := logslog.New(logslog.StoreSink(store, "acme"), &logslog.Options{Source: "billing"})
	if err != nil {
		return err
	}
	logger := slog.New(h).With("region", "eu-west-1")
	logger.Info("invoice created", "invoice", "inv-1042", "amount", 129.5)
	logger.Warn("card expires soon", slog.Group("card", "brand", "visa", "last4", "4242"))
	logger.Error("charge failed", "invoice", "inv-1042", "err", errors.New("card declined"))
	logger.Debug("not written: below the handler's level (info)")
	if err := h.Close(); err != nil { // writes what is buffered
		return err
	}
	fmt.Fprintf(out, "logged 3 records, dropped %d\n", h.Dropped())

	page, err := store.Query(ctx, "acme", logquery.Filter{Source: "billing"})
	if err != nil {
		return err
	}
	for _, e := range page.Entries {
		fmt.Fprintf(out, "%s %s %q %v\n", e.Level, e.Source, e.Message, e.Metadata)
	}
	return nil
}
