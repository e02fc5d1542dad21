package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logclient"
)

func runTail(ctx context.Context, e *env, args []string) error {
	fs, cf, ff := filterCommand(e, "tail", "[filters] [--from-start | --last-event-id ID] [-o table|jsonl]")
	fromStart := fs.Bool("from-start", false, "print the matching entries there are first (oldest first), then the new ones")
	lastID := fs.String("last-event-id", "", "continue after this event id (what a tail printed on exit)")
	out := fs.String("o", "table", "output: table or jsonl")
	quiet := fs.Bool("q", false, "do not report reconnections on stderr")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *fromStart && *lastID != "" {
		return usagef("give --from-start or --last-event-id, not both")
	}
	f, c, err := connect(e, cf, ff)
	if err != nil {
		return err
	}
	p, err := newPrinter(*out, e.stdout, isTerminal(e.stdout) && noColor(e), "table", "jsonl")
	if err != nil {
		return err
	}
	if tp, ok := p.(*tablePrinter); ok {
		tp.sourceWidth = 10
	}
	start := *lastID
	var history map[string]bool // ids printed from the list, when --from-start
	if *fromStart {
		if start, err = c.StreamPosition(ctx, f); err != nil {
			return err
		}
		var past []logs.Entry
		f.Limit = 500
		for entry, err := range c.All(ctx, f) {
			if err != nil {
				return err
			}
			past = append(past, entry)
		}
		history = make(map[string]bool, len(past))
		for _, entry := range slices.Backward(past) {
			history[entry.ID] = true
			if err := p.entry(entry); err != nil {
				return err
			}
		}
	}
	s := c.Stream(f, &logclient.StreamOptions{LastEventID: start, OnReconnect: func(err error, wait time.Duration) {
		if !*quiet {
			fmt.Fprintf(e.stderr, "logs tail: reconnecting in %s: %v\n", wait.Round(time.Millisecond), err)
		}
	}})
	defer func() {
		if id := s.LastEventID(); id != "" {
			fmt.Fprintf(e.stderr, "last-event-id: %s\n", id)
		}
	}()
	for entry, err := range s.Entries(ctx) {
		if errors.Is(err, context.Canceled) {
			return nil // interrupted: the normal end of a tail
		}
		if err != nil {
			return err
		}
		if history[entry.ID] {
			continue
		}
		if err := p.entry(entry); err != nil {
			return err
		}
	}
	return nil
}
