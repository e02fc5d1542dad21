package loghttp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore/bunstore"
	"github.com/ithbat/logs/logstream"
)

// outOfRange are dates that no store can hold: outside the years 0001 to
// 9999 once converted to UTC (defect 3: PostgreSQL answered 500).
var outOfRange = []string{
	"0000-01-01T00:00:00Z",
	"0000-12-31T23:59:59.999999Z",
	"0001-01-01T00:00:00+14:00",
	"0000-06-01",
	"9999-12-31T23:59:59-14:00",
}

func TestDatesOutOfRange(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newStreamEnv(t, st, logstream.Options{})
		x := newExportEnv(t, st, nil)
		e.ingest(t, "dates", `{"level":"info","source":"a","message":"m","createdAt":"2026-03-18T14:32:07Z"}`)
		read := token(t, "dates", loghttp.PermRead)
		post := func(t *testing.T, env *env, path, body string) *resp {
			return env.do(t, req{method: http.MethodPost, path: path, token: read, tenant: "dates",
				body: strings.NewReader(body), header: http.Header{"Content-Type": {"application/json"}}})
		}
		for _, field := range []string{"startDate", "endDate"} {
			for _, d := range outOfRange {
				t.Run(field+"="+d, func(t *testing.T) {
					q := field + "=" + url.QueryEscape(d)
					e.do(t, req{path: "/api/v1/logs?" + q, token: read, tenant: "dates"}).requireError(t, 400, "invalid_argument", field)
					e.do(t, req{path: "/api/v1/logs/stream?" + q, token: read, tenant: "dates"}).requireError(t, 400, "invalid_argument", field)
					body := `"` + field + `":"` + d + `"`
					post(t, e.env, "/api/v1/logs/stream/tickets", "{"+body+"}").requireError(t, 400, "invalid_argument", field)
					post(t, x.env, "/api/v1/logs/export", `{"format":"csv",`+body+"}").requireError(t, 400, "invalid_argument", field)
				})
			}
		}
		t.Run("the edges of the range", func(t *testing.T) {
			for _, tt := range []struct {
				query string
				total int64
			}{
				{"startDate=0001-01-01T00:00:00Z", 1},
				{"startDate=0001-01-01", 1},
				{"endDate=9999-12-31T23:59:59.999999Z", 1},
				{"endDate=9999-12-31", 1},
				{"startDate=0001-01-01T00:00:00Z&endDate=9999-12-31T23:59:59Z", 1},
				{"startDate=9999-12-31T23:59:59%2B14:00", 0},
				{"endDate=0001-01-01T00:00:00-14:00", 0},
				{"endDate=0001-01-01T00:00:00Z", 0},
				{"endDate=0001-01-01", 0},
			} {
				t.Run(tt.query, func(t *testing.T) {
					assert.Equal(t, tt.total, e.list(t, "dates", tt.query).Total)
				})
			}
			_, d := x.submit(t, "dates", `{"format":"json","startDate":"0001-01-01T00:00:00Z","endDate":"9999-12-31T23:59:59Z"}`)
			assert.EqualValues(t, 1, d.EstimatedRecords)
			ready := x.poll(t, "dates", d.ExportID)
			assert.Equal(t, "ready", ready.Status, ready.Error)
			_, d = x.submit(t, "dates", `{"format":"json","endDate":"0001-01-01T00:00:00Z"}`)
			assert.EqualValues(t, 0, d.EstimatedRecords)
			ready = x.poll(t, "dates", d.ExportID)
			assert.Equal(t, "ready", ready.Status, ready.Error)
			post(t, e.env, "/api/v1/logs/stream/tickets", `{"startDate":"0001-01-01T00:00:00Z","endDate":"9999-12-31T23:59:59Z"}`).data(t, 201, &struct{}{})
		})
	})
}

// TestStartFinerThanMicroseconds: a startDate finer than the stores'
// microseconds is an inclusive lower bound like any other: an entry of
// ...00.000000Z is before ...00.000000001Z and is neither listed, counted
// nor charted (the stores truncated the bound and took it in, where the
// stream's matching left it out); an endDate so fine keeps it.
func TestStartFinerThanMicroseconds(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newEnv(t, st, nil)
		e.ingest(t, "fine", `{"level":"info","source":"a","message":"m","createdAt":"2026-11-20T10:00:00Z"}`)
		read := token(t, "fine", loghttp.PermRead)
		for _, tt := range []struct {
			query string
			total int64
		}{
			{"startDate=2026-11-20T10:00:00.000000001Z&endDate=2026-11-20T11:00:00Z", 0},
			{"startDate=2026-11-20T10:00:00.0000005Z&endDate=2026-11-20T11:00:00Z", 0},
			{"startDate=2026-11-20T09:00:00.0000005Z&endDate=2026-11-20T11:00:00Z", 1},
			{"startDate=2026-11-20T10:00:00Z&endDate=2026-11-20T11:00:00Z", 1},
			{"startDate=2026-11-20T09:00:00Z&endDate=2026-11-20T10:00:00.0000005Z", 1},
			{"startDate=2026-11-20T09:59:59.9999995Z&endDate=2026-11-20T10:00:00.0000005Z", 1},
		} {
			t.Run(tt.query, func(t *testing.T) {
				var l list
				e.do(t, req{path: "/api/v1/logs?" + tt.query, token: read, tenant: "fine"}).data(t, http.StatusOK, &l)
				assert.Equal(t, tt.total, l.Total, "the total")
				assert.Len(t, l.Logs, int(tt.total), "the page")
				for _, iv := range []string{"1m", "1h", "1d"} {
					var s struct{ Total int64 }
					e.do(t, req{path: "/api/v1/logs/stats?interval=" + iv + "&" + tt.query, token: read, tenant: "fine"}).data(t, http.StatusOK, &s)
					assert.Equal(t, tt.total, s.Total, "the stats by %s", iv)
				}
			})
		}
	})
}
