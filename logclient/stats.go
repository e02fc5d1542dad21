package logclient

import (
	"context"
	"net/http"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
)

// Stats are the counts of GET /api/v1/logs/stats.
type Stats struct {
	Total    int64                `json:"total"`
	Interval string               `json:"interval"`
	Levels   map[logs.Level]int64 `json:"levels"`
	Sources  map[string]int64     `json:"sources"`
	Buckets  []StatsBucket        `json:"buckets"` // newest first, every bucket of the range
}

// StatsBucket is the count of one interval.
type StatsBucket struct {
	Start  time.Time            `json:"start"`
	Count  int64                `json:"count"`
	Levels map[logs.Level]int64 `json:"levels"`
}

// Stats returns the counts of f's matches, by level, source and interval
// ("1m", "5m", "1h", "1d"; "" lets the server choose from the range).
func (c *Client) Stats(ctx context.Context, f logquery.Filter, interval string) (*Stats, error) {
	q := filterValues(f)
	if interval != "" {
		q.Set("interval", interval)
	}
	var st Stats
	resp, err := c.do(ctx, http.MethodGet, "/api/v1/logs/stats", q, nil, "", &st)
	if err != nil {
		return nil, err
	}
	if st.Buckets == nil || st.Interval == "" {
		return nil, badAnswer(resp, "the stats' answer has no buckets or interval")
	}
	return &st, nil
}
