package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ithbat/logs"
)

func runStats(ctx context.Context, e *env, args []string) error {
	fs, cf, ff := filterCommand(e, "stats", "[filters] [--interval 1m|5m|1h|1d] [-o chart|json]")
	interval := fs.String("interval", "", "bucket width: 1m, 5m, 1h or 1d (by default chosen from the range)")
	out := fs.String("o", "chart", "output: chart or json")
	width := fs.Int("width", 50, "the longest bar, in characters")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *out != "chart" && *out != "json" {
		return usagef("-o must be chart or json; got %q", *out)
	}
	if *width < 1 || *width > 1000 {
		return usagef("--width must be from 1 to 1000")
	}
	f, c, err := connect(e, cf, ff)
	if err != nil {
		return err
	}
	st, err := c.Stats(ctx, f, *interval)
	if err != nil {
		return err
	}
	if *out == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(st)
	}
	color := isTerminal(e.stdout) && noColor(e)
	var b strings.Builder
	fmt.Fprintf(&b, "%d entries: %d error, %d warn, %d info (interval %s)\n", st.Total,
		st.Levels[logs.LevelError], st.Levels[logs.LevelWarn], st.Levels[logs.LevelInfo], clean(st.Interval, 10))
	if len(st.Sources) > 0 {
		srcs := make([]string, 0, len(st.Sources))
		for s := range st.Sources {
			srcs = append(srcs, s)
		}
		slices.SortFunc(srcs, func(a, b string) int {
			if d := st.Sources[b] - st.Sources[a]; d != 0 {
				return int(min(max(d, -1), 1))
			}
			return strings.Compare(a, b)
		})
		parts := make([]string, 0, len(srcs))
		for _, s := range srcs[:min(len(srcs), 10)] {
			parts = append(parts, fmt.Sprintf("%s %d", clean(s, 40), st.Sources[s]))
		}
		if len(srcs) > 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(srcs)-10))
		}
		fmt.Fprintf(&b, "sources: %s\n", strings.Join(parts, ", "))
	}
	var most int64
	for _, bk := range st.Buckets {
		most = max(most, bk.Count)
	}
	layout := "2006-01-02 15:04"
	if st.Interval == "1d" {
		layout = "2006-01-02"
	}
	for _, bk := range slices.Backward(st.Buckets) { // oldest first
		n := 0
		if most > 0 {
			n = int((bk.Count*int64(*width) + most - 1) / most)
		}
		// The bar's part of each level, errors first.
		var bar strings.Builder
		used := 0
		for _, lv := range []logs.Level{logs.LevelError, logs.LevelWarn, logs.LevelInfo} {
			k := 0
			if bk.Count > 0 {
				k = int(int64(n) * bk.Levels[lv] / bk.Count)
			}
			if lv == logs.LevelInfo {
				k = n - used
			}
			used += k
			seg := strings.Repeat("█", k)
			if c, ok := levelColor[lv]; ok && color && k > 0 {
				seg = c + seg + "\x1b[0m"
			}
			bar.WriteString(seg)
		}
		fmt.Fprintf(&b, "%s  %s%s %d\n", bk.Start.UTC().Format(layout), bar.String(), strings.Repeat(" ", *width-n), bk.Count)
	}
	_, err = fmt.Fprint(e.stdout, b.String())
	return err
}
