package loghttp

import (
	"net/http"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

// statsResponse is the data of GET /api/v1/logs/stats.
type statsResponse struct {
	Total    int64                `json:"total"`
	Interval string               `json:"interval"`
	Levels   map[logs.Level]int64 `json:"levels"`
	Sources  map[string]int64     `json:"sources"`
	Buckets  []statsBucket        `json:"buckets"`
}

type statsBucket struct {
	Start  string               `json:"start"`
	Count  int64                `json:"count"`
	Levels map[logs.Level]int64 `json:"levels"`
}

// intervals are the bucket widths of the stats, by name.
var intervals = []struct {
	name string
	d    time.Duration
}{{"1m", time.Minute}, {"5m", 5 * time.Minute}, {"1h", time.Hour}, {"1d", 24 * time.Hour}}

// defaultInterval is the interval for a range: at most a few hundred
// buckets. The range is the one the counts cover: to endDate (also ahead
// of now: the buckets go there), from startDate, or without it the
// tenant's retention keep (0: forever, taken as the default retention).
func defaultInterval(f logquery.Filter, now time.Time, keep time.Duration) time.Duration {
	if keep <= 0 {
		keep = logstore.DefaultRetention
	}
	end, start := now, now.Add(-keep)
	if !f.End.IsZero() {
		end = f.End
	}
	if !f.Start.IsZero() {
		start = f.Start
	}
	switch d := end.Sub(start); {
	case d <= 3*time.Hour:
		return time.Minute
	case d <= 24*time.Hour:
		return 5 * time.Minute
	case d <= 14*24*time.Hour:
		return time.Hour
	}
	return 24 * time.Hour
}

// withLevels returns m with every level present (0 for none), so that a
// chart needs no special case.
func withLevels(m map[logs.Level]int64) map[logs.Level]int64 {
	out := map[logs.Level]int64{logs.LevelInfo: 0, logs.LevelWarn: 0, logs.LevelError: 0}
	for l, n := range m {
		out[l] = n
	}
	return out
}

// logStats serves GET /api/v1/logs/stats: the counts behind the console's
// chart, exact like the list's total, for the list's filters and an
// interval (1m, 5m, 1h, 1d; by default chosen from the range).
func (s *Server) logStats(w http.ResponseWriter, r *http.Request, c *call) error {
	f, err := logquery.ParseValues(c.Query)
	if err != nil {
		return err
	}
	interval := time.Duration(0)
	name := c.Query.Get("interval")
	if len(c.Query["interval"]) > 1 {
		return logs.Invalid("interval", "is given more than once")
	}
	for _, iv := range intervals {
		if iv.name == name {
			interval = iv.d
		}
	}
	switch {
	case name == "":
		keep := time.Duration(0)
		if s.opts.Settings != nil {
			if keep, err = s.opts.Settings.Retention(r.Context(), c.Tenant); err != nil {
				return err
			}
		}
		interval = defaultInterval(f, time.Now(), keep)
	case interval == 0:
		return logs.Invalid("interval", "must be one of 1m, 5m, 1h, 1d; got %q", clip(name, 16))
	}
	st, err := s.store.Stats(r.Context(), c.Tenant, f, interval)
	if err != nil {
		return err
	}
	res := statsResponse{Total: st.Total, Levels: withLevels(st.Levels), Sources: st.Sources, Buckets: make([]statsBucket, len(st.Buckets))}
	for _, iv := range intervals {
		if iv.d == interval {
			res.Interval = iv.name
		}
	}
	for i, b := range st.Buckets {
		res.Buckets[i] = statsBucket{Start: logs.FormatTime(b.Start), Count: b.Count, Levels: withLevels(b.Levels)}
	}
	writeData(w, http.StatusOK, res)
	return nil
}
