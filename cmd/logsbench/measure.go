package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// listCase is one list measured on both sides: a page of 50 and its exact
// total, on the largest tenant.
type listCase struct {
	name string
	q    url.Values
	f    rawFilter
}

func measureLists(ctx context.Context, c *config, d *dataset, r *raw, s *logsd, rep *report, logf func(string, ...any)) error {
	tenant := tenantID(0)
	week := d.end.Add(-7 * 24 * time.Hour)
	cases := []listCase{
		{"page + total, no filter", url.Values{}, rawFilter{}},
		{"page + total, level=error", url.Values{"level": {"error"}}, rawFilter{" AND level = $2", []any{"error"}}},
		{"page + total, source=mfa + last 7 days", url.Values{"source": {"mfa"}, "startDate": {week.Format(time.RFC3339)}},
			rawFilter{" AND source = $2 AND created_at >= $3", []any{"mfa", week}}},
		{"page + total, search " + commonWord + " (common word)", url.Values{"search": {commonWord}},
			rawFilter{" AND lower(message) LIKE $2", []any{"%" + commonWord + "%"}}},
		{"page + total, search " + rareWord + " (rare word)", url.Values{"search": {rareWord}},
			rawFilter{" AND lower(message) LIKE $2", []any{"%" + rareWord + "%"}}},
	}
	var all int64
	for _, lc := range cases {
		logf("list: %s", lc.name)
		want, err := r.count(ctx, tenant, lc.f)
		if err != nil {
			return fmt.Errorf("raw %s: %w", lc.name, err)
		}
		if len(lc.q) == 0 {
			all = want
		}
		rawTimes, err := timeReps(ctx, c.Reps, func(ctx context.Context) error {
			if _, _, err := r.page(ctx, tenant, lc.f, 0); err != nil {
				return err
			}
			_, err := r.count(ctx, tenant, lc.f)
			return err
		})
		if err != nil {
			return fmt.Errorf("raw %s: %w", lc.name, err)
		}
		q := url.Values{"limit": {"50"}}
		for k, v := range lc.q {
			q[k] = v
		}
		var got int64
		apiTimes, err := timeReps(ctx, c.Reps, func(ctx context.Context) error {
			a, err := s.list(ctx, tenant, q)
			got = a.Total
			return err
		})
		if err != nil {
			return fmt.Errorf("logsd %s: %w", lc.name, err)
		}
		if got != want {
			return fmt.Errorf("%s: logsd's total is %d, raw SQL counts %d", lc.name, got, want)
		}
		raw, api := latencies(rawTimes, false), latencies(apiTimes, false)
		raw.Note = count(want) + " matches"
		rep.add(lc.name, raw, api)
	}

	// A deep page: by number (raw: OFFSET) and after a cursor (raw: keyset).
	depth := int(min(1000, max(2, all/50)))
	logf("list: page %d by page and by cursor", depth)
	rawTimes, err := timeReps(ctx, c.Reps, func(ctx context.Context) error {
		_, _, err := r.page(ctx, tenant, rawFilter{}, (depth-1)*50)
		return err
	})
	if err != nil {
		return err
	}
	q := url.Values{"limit": {"50"}, "page": {strconv.Itoa(depth)}}
	apiTimes, err := timeReps(ctx, c.Reps, func(ctx context.Context) error {
		_, err := s.list(ctx, tenant, q)
		return err
	})
	if err != nil {
		return err
	}
	rep.add(fmt.Sprintf("page %d by page (raw: OFFSET, no total)", depth), latencies(rawTimes, false), latencies(apiTimes, false))

	at, id, err := r.page(ctx, tenant, rawFilter{}, (depth-2)*50)
	if err != nil {
		return err
	}
	rawTimes, err = timeReps(ctx, c.Reps, func(ctx context.Context) error { return r.pageAfter(ctx, tenant, at, id) })
	if err != nil {
		return err
	}
	// Walk to the cursor of page depth.
	q = url.Values{"limit": {"50"}}
	for p := 1; p < depth; p++ {
		a, err := s.list(ctx, tenant, q)
		if err != nil {
			return err
		}
		if a.NextCursor == nil {
			return fmt.Errorf("cursor walk: no nextCursor on page %d", p)
		}
		q = url.Values{"limit": {"50"}, "cursor": {*a.NextCursor}}
	}
	apiTimes, err = timeReps(ctx, c.Reps, func(ctx context.Context) error {
		_, err := s.list(ctx, tenant, q)
		return err
	})
	if err != nil {
		return err
	}
	rep.add(fmt.Sprintf("page %d by cursor (raw: keyset, no total)", depth), latencies(rawTimes, false), latencies(apiTimes, false))
	return nil
}

func measureStats(ctx context.Context, c *config, d *dataset, r *raw, s *logsd, rep *report, logf func(string, ...any)) error {
	tenant := tenantID(0)
	start := d.end.Add(-span)
	logf("stats over 90 days")
	want, err := r.stats(ctx, tenant, start)
	if err != nil {
		return err
	}
	rawTimes, err := timeReps(ctx, c.Reps, func(ctx context.Context) error { _, err := r.stats(ctx, tenant, start); return err })
	if err != nil {
		return err
	}
	var got struct {
		Total int64 `json:"total"`
	}
	path := "/api/v1/logs/stats?" + url.Values{"startDate": {start.Format(time.RFC3339)}}.Encode()
	apiTimes, err := timeReps(ctx, c.Reps, func(ctx context.Context) error {
		return s.do(ctx, http.MethodGet, path, tenant, nil, http.StatusOK, &got)
	})
	if err != nil {
		return err
	}
	if got.Total != want {
		return fmt.Errorf("stats: logsd's total is %d, raw SQL counts %d", got.Total, want)
	}
	rep.add("stats over 90 days by day, level, source (raw: GROUP BY)", latencies(rawTimes, false), latencies(apiTimes, false))
	return nil
}

func measureExports(ctx context.Context, r *raw, s *logsd, rep *report, logf func(string, ...any)) error {
	tenant := tenantID(0)
	for _, format := range []string{"csv", "json"} {
		logf("export %s", format)
		start := time.Now()
		want, err := r.export(ctx, tenant, format)
		if err != nil {
			return fmt.Errorf("raw export: %w", err)
		}
		rawTime := time.Since(start)
		start = time.Now()
		got, err := s.export(ctx, tenant, format)
		if err != nil {
			return fmt.Errorf("logsd export: %w", err)
		}
		apiTime := time.Since(start)
		if got != want {
			return fmt.Errorf("export %s: logsd has %d records, raw SQL %d", format, got, want)
		}
		raw := rate(int(want), rawTime)
		raw.Note = "COPY to discard"
		api := rate(int(got), apiTime)
		api.Note = "submit to downloaded"
		rep.add(fmt.Sprintf("export %s, %s rows", format, count(want)), raw, api)
	}
	return nil
}
