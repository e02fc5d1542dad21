package loghttp_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore/bunstore"
	"github.com/ithbat/logs/logstream"
)

// One rule for every JSON body (defect 7: the export wanted
// application/json, ingest and tickets took any type): Content-Type
// application/json, with parameters but no charset other than utf-8, or
// none; ingest also takes its NDJSON types; anything else is a 400 naming
// Content-Type.
func TestContentTypeOfJSONBodies(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newStreamEnv(t, st, logstream.Options{})
		x := newExportEnv(t, st, nil)
		endpoints := []struct {
			name, path, perm, body string
			env                    *env
			status                 int
			ndjson                 bool
		}{
			{"ingest", "/api/v1/logs", loghttp.PermWrite, `{"level":"info","source":"a","message":"m"}`, e.env, 201, true},
			{"ticket", "/api/v1/logs/stream/tickets", loghttp.PermRead, `{"level":"error"}`, e.env, 201, false},
			{"export", "/api/v1/logs/export", loghttp.PermRead, `{"format":"csv"}`, x.env, 202, false},
		}
		types := []struct {
			types  []string // the Content-Type header's values; nil for none
			ok     bool
			ndjson bool // accepted by ingest only
		}{
			{nil, true, false},
			{[]string{""}, true, false},
			{[]string{"application/json"}, true, false},
			{[]string{"application/json; charset=utf-8"}, true, false},
			{[]string{"Application/JSON;Charset=UTF-8"}, true, false},
			{[]string{`application/json; charset="utf-8"; profile=x`}, true, false},
			{[]string{"application/json; charset=iso-8859-1"}, false, false},
			{[]string{"application/json; charset=utf-16"}, false, false},
			{[]string{"text/plain;charset=UTF-8"}, false, false},          // what fetch sends for a string body
			{[]string{"application/x-www-form-urlencoded"}, false, false}, // what curl -d sends
			{[]string{"multipart/form-data; boundary=x"}, false, false},
			{[]string{"application/jsonx"}, false, false},
			{[]string{"text/json"}, false, false},
			{[]string{"application/"}, false, false},
			{[]string{"application/json", "application/json"}, false, false},
			{[]string{"application/x-ndjson"}, false, true},
			{[]string{"application/ndjson; charset=utf-8"}, false, true},
			{[]string{"application/jsonl"}, false, true},
			{[]string{"application/x-ndjson; charset=latin1"}, false, false},
		}
		for _, ep := range endpoints {
			for _, ct := range types {
				name := ep.name + ": " + strings.Join(ct.types, " + ")
				if ct.types == nil {
					name = ep.name + ": none"
				}
				t.Run(name, func(t *testing.T) {
					h := http.Header{}
					for _, v := range ct.types {
						h.Add("Content-Type", v)
					}
					r := ep.env.do(t, req{method: http.MethodPost, path: ep.path, token: token(t, "ctype", ep.perm), tenant: "ctype",
						body: strings.NewReader(ep.body), header: h})
					if ct.ok || (ct.ndjson && ep.ndjson) {
						r.data(t, ep.status, &struct{}{})
						return
					}
					r.requireError(t, 400, "invalid_argument", "Content-Type")
				})
			}
		}
	})
}
