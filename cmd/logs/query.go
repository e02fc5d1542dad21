package main

import (
	"context"
	"flag"
	"fmt"
	"unicode/utf8"

	"github.com/ithbat/logs/logclient"
	"github.com/ithbat/logs/logquery"
)

func runQuery(ctx context.Context, e *env, args []string) error {
	fs, cf, ff := filterCommand(e, "query", "[filters] [--limit N | --all] [-o table|json|jsonl|csv]")
	limit := fs.Int("limit", 50, "print at most this many entries, newest first")
	all := fs.Bool("all", false, "print every matching entry (page after page)")
	page := fs.Int("page", 0, "start at this page of --limit entries (at most 500)")
	cursor := fs.String("cursor", "", "continue after the page that gave this nextCursor (same filters and --limit)")
	out := fs.String("o", "table", "output: table, json, jsonl or csv")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	limitSet := false
	fs.Visit(func(f *flag.Flag) { limitSet = limitSet || f.Name == "limit" })
	switch {
	case *all && limitSet:
		return usagef("give --limit or --all, not both")
	case *limit < 1:
		return usagef("--limit must be at least 1")
	case *page != 0 && *cursor != "":
		return usagef("give --page or --cursor, not both")
	case *page < 0:
		return usagef("--page must be at least 1")
	case (*page != 0 || *cursor != "") && (*all || *limit > logquery.MaxLimit):
		return usagef("--page and --cursor select one page of at most %d entries", logquery.MaxLimit)
	}
	f, c, err := connect(e, cf, ff)
	if err != nil {
		return err
	}
	p, err := newPrinter(*out, e.stdout, isTerminal(e.stdout) && noColor(e), "table", "json", "jsonl", "csv")
	if err != nil {
		return err
	}
	if tp, ok := p.(*tablePrinter); ok {
		tp.sourceWidth = 10
	}
	var res *logclient.Page
	printed := 0
	if *all || *limit > logquery.MaxLimit {
		f.Limit = logquery.MaxLimit
		for entry, err := range c.All(ctx, f) {
			if err != nil {
				_ = p.close()
				return err
			}
			if err := p.entry(entry); err != nil {
				return err
			}
			if printed++; !*all && printed == *limit {
				break
			}
		}
	} else {
		f.Limit, f.Page = *limit, *page
		if *cursor != "" {
			res, err = c.QueryCursor(ctx, f, *cursor)
		} else {
			res, err = c.Query(ctx, f)
		}
		if err != nil {
			return err
		}
		if tp, ok := p.(*tablePrinter); ok {
			tp.sourceWidth = 6
			for _, entry := range res.Logs {
				tp.sourceWidth = max(tp.sourceWidth, utf8.RuneCountInString(clean(entry.Source, 40)))
				tp.msgWidth = min(max(tp.msgWidth, utf8.RuneCountInString(clean(entry.Message, 400))), 60)
			}
		}
		for _, entry := range res.Logs {
			if err := p.entry(entry); err != nil {
				return err
			}
			printed++
		}
	}
	if err := p.close(); err != nil {
		return err
	}
	if _, table := p.(*tablePrinter); table {
		switch {
		case res == nil:
			fmt.Fprintf(e.stderr, "%d entries\n", printed)
		case res.NextCursor != "":
			fmt.Fprintf(e.stderr, "%d of %d entries (page %d); next page: --cursor %s, or --all for every one\n", printed, res.Total, res.Page, res.NextCursor)
		default:
			fmt.Fprintf(e.stderr, "%d of %d entries (page %d)\n", printed, res.Total, res.Page)
		}
	}
	return nil
}

// noColor is false when NO_COLOR is set (https://no-color.org).
func noColor(e *env) bool {
	v, ok := e.lookupEnv("NO_COLOR")
	return !ok || v == ""
}
