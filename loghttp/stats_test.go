package loghttp_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstore/bunstore"
)

type statsData struct {
	Total    int64            `json:"total"`
	Interval string           `json:"interval"`
	Levels   map[string]int64 `json:"levels"`
	Sources  map[string]int64 `json:"sources"`
	Buckets  []struct {
		Start  string           `json:"start"`
		Count  int64            `json:"count"`
		Levels map[string]int64 `json:"levels"`
	} `json:"buckets"`
}

// TestStats: GET /api/v1/logs/stats counts what the list counts, by level,
// source and bucket, newest bucket first.
func TestStats(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newEnv(t, st, nil)
		now := time.Now().UTC().Truncate(time.Hour)
		var lines []string
		for i := range 30 {
			at := now.Add(-time.Duration(i) * 37 * time.Minute)
			lines = append(lines, fmt.Sprintf(`{"level":"%s","source":"%s","message":"m","createdAt":"%s"}`,
				[]string{"info", "warn", "error"}[i%3], []string{"auth", "scim"}[i%2], at.Format(time.RFC3339)))
		}
		e.ingest(t, "acme", `{"logs":[`+strings.Join(lines, ",")+`]}`)
		e.ingest(t, "globex", `{"level":"error","source":"auth","message":"other tenant"}`)
		get := func(query string) *resp {
			return e.do(t, req{path: "/api/v1/logs/stats?" + query, token: token(t, "acme", loghttp.PermRead), tenant: "acme"})
		}
		since := now.Add(-24 * time.Hour).Format(time.RFC3339)
		var s statsData
		get("interval=1h&startDate="+since).data(t, http.StatusOK, &s)
		l := e.list(t, "acme", "startDate="+since)
		assert.Equal(t, l.Total, s.Total)
		assert.Equal(t, "1h", s.Interval)
		assert.Equal(t, map[string]int64{"info": 10, "warn": 10, "error": 10}, s.Levels)
		assert.Equal(t, int64(15), s.Sources["auth"])
		require.NotEmpty(t, s.Buckets)
		var sum int64
		for i, b := range s.Buckets {
			start, err := time.Parse(time.RFC3339Nano, b.Start)
			require.NoError(t, err)
			if i > 0 {
				prev, _ := time.Parse(time.RFC3339Nano, s.Buckets[i-1].Start)
				assert.Equal(t, prev.Add(-time.Hour), start, "newest first, one an hour")
			}
			assert.Len(t, b.Levels, 3, "every level, 0 included")
			end := start.Add(time.Hour - time.Microsecond)
			l := e.list(t, "acme", fmt.Sprintf("startDate=%s&endDate=%s", start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano)))
			assert.Equal(t, l.Total, b.Count, b.Start)
			sum += b.Count
		}
		assert.Equal(t, s.Total, sum)

		var f statsData
		get("level=error&source=auth").data(t, http.StatusOK, &f)
		assert.Equal(t, e.list(t, "acme", "level=error&source=auth").Total, f.Total)
		assert.Equal(t, "1d", f.Interval, "the default for a range without start")
		var short statsData
		get("startDate="+now.Add(-2*time.Hour).Format(time.RFC3339)).data(t, http.StatusOK, &short)
		assert.Equal(t, "1m", short.Interval)

		get("interval=2h").requireError(t, http.StatusBadRequest, "invalid_argument", "interval")
		get("interval=1m&startDate=2026-01-01").requireError(t, http.StatusBadRequest, "invalid_argument", "interval")
		get("intervall=1h").requireError(t, http.StatusBadRequest, "invalid_argument", "intervall")
		get("level=debug").requireError(t, http.StatusBadRequest, "invalid_argument", "level")
		e.do(t, req{path: "/api/v1/logs/stats", token: token(t, "acme", loghttp.PermWrite), tenant: "acme"}).
			requireError(t, http.StatusForbidden, "permission_denied", "")
	})
}

// TestStatsDefaultInterval: without interval the bucket is chosen from the
// range as the README says, the range being the one the counts cover: up
// to an endDate ahead of now, and from the tenant's own retention when
// there is no startDate; a default is never one the server then refuses.
func TestStatsDefaultInterval(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			st, err := bunstore.Open(t.Context(), testdb.URL(t, backend), &bunstore.Options{Retention: 90 * 24 * time.Hour})
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			e := newEnv(t, st, &envOptions{opts: loghttp.Options{Settings: st}})
			e.ingest(t, "acme", `{"level":"info","source":"a","message":"m"}`)
			get := func(query string) statsData {
				var s statsData
				e.do(t, req{path: "/api/v1/logs/stats?" + query, token: token(t, "acme", loghttp.PermRead), tenant: "acme"}).data(t, http.StatusOK, &s)
				return s
			}
			now := time.Now().UTC()
			// Two hours back, two days ahead: 50 hours, in hours (minutes
			// would be 3,000 buckets, more than are answered).
			s := get("startDate=" + now.Add(-2*time.Hour).Format(time.RFC3339) + "&endDate=" + now.Add(48*time.Hour).Format(time.RFC3339))
			assert.Equal(t, "1h", s.Interval)
			assert.Equal(t, int64(1), s.Total)
			assert.Equal(t, "1d", get("").Interval, "the default retention, 90 days")
			require.NoError(t, st.SetTenantSettings(t.Context(), "acme", logstore.TenantSettings{RetentionDays: 5}))
			s = get("")
			assert.Equal(t, "1h", s.Interval, "the tenant's retention, 5 days")
			assert.Equal(t, int64(1), s.Total)
		})
	}
}
