package loghttp_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore/bunstore"
	"github.com/ithbat/logs/logstream"
)

// fixedTime is the one form of a time the API writes: RFC 3339 in UTC with
// exactly six fractional digits.
var fixedTime = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$`)

// timesBody holds createdAt values with every number of fraction digits.
const timesBody = `{"logs":[
 {"level":"info","source":"t","message":"m1","createdAt":"2026-03-18T21:26:23.85954Z"},
 {"level":"info","source":"t","message":"m2","createdAt":"2026-03-18T21:26:09.030923Z"},
 {"level":"info","source":"t","message":"m3","createdAt":"2026-03-18T21:26:09Z"},
 {"level":"info","source":"t","message":"m4","createdAt":"2026-03-18T21:26:09.1Z"},
 {"level":"info","source":"t","message":"m5","createdAt":"2026-03-18T22:26:09.000001+01:00"},
 {"level":"info","source":"t","message":"m6","createdAt":"2026-03-18T21:26:10.99Z"}
]}`

// requireSortsAsTimes checks that every string is a fixed-width time and
// that the strings sort as the times they name.
func requireSortsAsTimes(tb testing.TB, ts []string) {
	tb.Helper()
	require.NotEmpty(tb, ts)
	byTime := slices.Clone(ts)
	for _, s := range ts {
		require.Regexp(tb, fixedTime, s)
	}
	slices.SortFunc(byTime, func(a, b string) int {
		ta, err := time.Parse(time.RFC3339Nano, a)
		require.NoError(tb, err)
		tb2, err := time.Parse(time.RFC3339Nano, b)
		require.NoError(tb, err)
		return ta.Compare(tb2)
	})
	byText := slices.Clone(ts)
	slices.Sort(byText)
	assert.Equal(tb, byTime, byText, "strings sort as times")
}

func TestTimesAreFixedWidth(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		t.Run("list, stream, ticket", func(t *testing.T) {
			e := newStreamEnv(t, st, logstream.Options{})
			s := e.openAs(t, "times", "", nil)
			s.next(t) // the stream's start: what follows is new
			e.ingest(t, "times", timesBody)

			l := e.list(t, "times", "")
			require.Len(t, l.Logs, 6)
			var listed []string
			for _, en := range l.Logs {
				listed = append(listed, en.CreatedAt)
			}
			requireSortsAsTimes(t, listed)
			assert.True(t, slices.IsSortedFunc(listed, func(a, b string) int { return strings.Compare(b, a) }), "newest first: %v", listed)
			assert.Equal(t, []string{"2026-03-18T21:26:23.859540Z", "2026-03-18T21:26:10.990000Z", "2026-03-18T21:26:09.100000Z",
				"2026-03-18T21:26:09.030923Z", "2026-03-18T21:26:09.000001Z", "2026-03-18T21:26:09.000000Z"}, listed)

			var streamed []string
			for len(streamed) < 6 {
				b := s.next(t)
				if !b.Dispatched {
					continue
				}
				var ev struct{ CreatedAt string }
				require.NoError(t, json.Unmarshal([]byte(b.Data), &ev))
				streamed = append(streamed, ev.CreatedAt)
			}
			assert.ElementsMatch(t, listed, streamed)

			var tk struct{ ExpiresAt string }
			e.do(t, req{method: http.MethodPost, path: "/api/v1/logs/stream/tickets", token: token(t, "times", loghttp.PermRead),
				tenant: "times", header: http.Header{"Content-Type": {"application/json"}}}).data(t, http.StatusCreated, &tk)
			assert.Regexp(t, fixedTime, tk.ExpiresAt)
		})
		t.Run("export", func(t *testing.T) {
			e := newExportEnv(t, st, nil)
			e.ingest(t, "times-export", timesBody)
			for _, format := range []string{"csv", "json", "ndjson"} {
				t.Run(format, func(t *testing.T) {
					_, d := e.submit(t, "times-export", `{"format":"`+format+`"}`)
					assert.Regexp(t, fixedTime, d.CreatedAt)
					ready := e.poll(t, "times-export", d.ExportID)
					require.Equal(t, "ready", ready.Status, ready.Error)
					require.NotNil(t, ready.ExpiresAt)
					assert.Regexp(t, fixedTime, *ready.ExpiresAt)
					assert.Equal(t, d.CreatedAt, ready.CreatedAt)

					_, body := fetch(t, *ready.DownloadURL)
					var got []string
					switch format {
					case "csv":
						rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
						require.NoError(t, err)
						for _, row := range rows[1:] {
							got = append(got, row[6])
						}
					case "json":
						var es []struct{ CreatedAt string }
						require.NoError(t, json.Unmarshal(body, &es))
						for _, en := range es {
							got = append(got, en.CreatedAt)
						}
					case "ndjson":
						for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
							var en struct{ CreatedAt string }
							require.NoError(t, json.Unmarshal([]byte(line), &en))
							got = append(got, en.CreatedAt)
						}
					}
					require.Len(t, got, 6)
					requireSortsAsTimes(t, got)
				})
			}
		})
	})
}
