// Command tail follows a tenant's logs on a logsd with logclient: the
// stream reconnects by itself with the last event id after a disconnect
// (a logsd restart, a network change) or an end event, so no entry is
// missed or printed twice. It prints the last event id when it stops;
// -last-event-id continues from it.
//
//	go run ./tail -url http://127.0.0.1:8080 -token "$TOKEN" -tenant acme -level error
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logclient"
	"github.com/ithbat/logs/logquery"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "the logsd")
	token := flag.String("token", os.Getenv("LOGS_TOKEN"), "bearer token with log:read")
	tenant := flag.String("tenant", "acme", "tenant")
	level := flag.String("level", "", "only this level")
	n := flag.Int("n", 0, "stop after this many entries (0: until interrupted)")
	last := flag.String("last-event-id", "", "continue after this event id")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *url, *token, *tenant, logs.Level(*level), *last, *n, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tail:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, url, token, tenant string, level logs.Level, last string, n int, out, status io.Writer) error {
	c, err := logclient.New(url, token, tenant, nil)
	if err != nil {
		return err
	}
	s := c.Stream(logquery.Filter{Level: level}, &logclient.StreamOptions{
		LastEventID: last,
		OnReconnect: func(err error, wait time.Duration) { fmt.Fprintf(status, "reconnecting in %s: %v\n", wait, err) },
	})
	defer func() { fmt.Fprintf(status, "last event id: %s\n", s.LastEventID()) }()
	count := 0
	for e, err := range s.Entries(ctx) {
		if errors.Is(err, context.Canceled) {
			return nil
		}
		if err != nil {
			return err // 401, 403, a bad event id: reconnecting would not help
		}
		fmt.Fprintf(out, "%s %s %s %s\n", logs.FormatTime(e.CreatedAt), e.Level, e.Source, e.Message)
		if count++; count == n {
			return nil
		}
	}
	return nil
}
