package loghttp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore/bunstore"
	"github.com/ithbat/logs/logstream"
)

// Every endpoint refuses a query parameter it does not take, naming it
// (defect 6: ?Level=error listed everything, a typo widened the filter).
func TestUnknownQueryParameters(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newStreamEnv(t, st, logstream.Options{})
		x := newExportEnv(t, st, nil)
		e.ingest(t, "params", `{"logs":[{"level":"info","source":"a","message":"one"},{"level":"error","source":"a","message":"two"}]}`)
		read, write := token(t, "params", loghttp.PermRead), token(t, "params", loghttp.PermWrite)
		_, d := x.submit(t, "params", `{"format":"csv"}`)
		ready := x.poll(t, "params", d.ExportID)
		require.Equal(t, "ready", ready.Status, ready.Error)
		download, err := url.Parse(*ready.DownloadURL)
		require.NoError(t, err)
		tk, streamURL := e.ticket(t, "params", `{}`)
		require.NotEmpty(t, tk)
		json := http.Header{"Content-Type": {"application/json"}}

		tests := []struct {
			name   string
			env    *env
			method string
			path   string
			token  string
			body   string
			field  string
		}{
			{"list: a parameter in the wrong case", e.env, "GET", "/api/v1/logs?Level=error", read, "", "Level"},
			{"list: a typo", e.env, "GET", "/api/v1/logs?levle=error", read, "", "levle"},
			{"list: not yet a parameter", e.env, "GET", "/api/v1/logs?cursor=abc", read, "", "cursor"},
			{"list: beside known ones", e.env, "GET", "/api/v1/logs?level=error&page=1&limit=5&sort=asc", read, "", "sort"},
			{"list: empty value", e.env, "GET", "/api/v1/logs?x=", read, "", "x"},
			{"list: no value", e.env, "GET", "/api/v1/logs?level=error&debug", read, "", "debug"},
			{"list: a bearer token", e.env, "GET", "/api/v1/logs?access_token=" + read, read, "", "access_token"},
			{"list: a bearer token without the header", e.env, "GET", "/api/v1/logs?access_token=" + read, "", "", "access_token"},
			{"stream: paging", e.env, "GET", "/api/v1/logs/stream?page=2", read, "", "page"},
			{"stream: a typo", e.env, "GET", "/api/v1/logs/stream?sorce=auth", read, "", "sorce"},
			{"stream: beside a ticket", e.env, "GET", streamURL + "&x=1", "", "", "x"},
			{"ingest", e.env, "POST", "/api/v1/logs?level=error", write, `{"level":"info","source":"a","message":"m"}`, "level"},
			{"ticket", e.env, "POST", "/api/v1/logs/stream/tickets?level=error", read, `{}`, "level"},
			{"export", x.env, "POST", "/api/v1/logs/export?format=json", read, `{"format":"csv"}`, "format"},
			{"export job", x.env, "GET", "/api/v1/logs/export/" + d.ExportID + "?verbose=1", read, "", "verbose"},
			{"download: beside the signature", x.env, "GET", download.RequestURI() + "&filename=x.csv", "", "", "filename"},
			{"healthz", e.env, "GET", "/healthz?probe=1", "", "", "probe"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tenant := "params"
				if tt.token == "" {
					tenant = ""
				}
				r := tt.env.do(t, req{method: tt.method, path: tt.path, token: tt.token, tenant: tenant, body: strings.NewReader(tt.body), header: json})
				r.requireError(t, 400, "invalid_argument", tt.field)
				if tt.field == "access_token" {
					assert.Contains(t, r.Env.Error.Message, "never accepted in a URL")
				}
			})
		}
		assert.EqualValues(t, 2, e.list(t, "params", "").Total, "nothing was ingested")
		t.Run("known parameters still work", func(t *testing.T) {
			l := e.list(t, "params", "level=error&source=a&search=two&startDate=2000-01-01&endDate=2999-01-01&page=1&limit=5")
			assert.Equal(t, []string{"two"}, l.messages())
			hr, body := fetch(t, *ready.DownloadURL)
			assert.Equal(t, http.StatusOK, hr.StatusCode, "%s", body)
			s := open(t, e.URL, streamURL, nil)
			assert.Equal(t, http.StatusOK, s.resp.StatusCode)
		})
		t.Run("the token is looked at before anything else of the query", func(t *testing.T) {
			e.do(t, req{path: "/api/v1/logs?Level=error"}).requireError(t, 401, "unauthenticated", "")
		})
	})
}
