package loghttp_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore/bunstore"
)

// seed is the list fixture, oldest first.
const seed = `{"logs":[
 {"level":"info","source":"auth","message":"User signed in","metadata":{"ip":"102.45.67.89"},"createdAt":"2026-03-01T10:00:00Z"},
 {"level":"error","source":"auth","message":"Failed login attempt — invalid credentials","metadata":{"userId":"u9f8e7d6","email":"a@example.com","attempt":3},"createdAt":"2026-03-18T14:32:07Z"},
 {"level":"error","source":"auth","message":"MFA verification failed — TOTP code expired","createdAt":"2026-03-17T09:11:43Z"},
 {"level":"warn","source":"idp","message":"Session refresh attempted with expired refresh token","createdAt":"2026-03-19T11:05:38Z"},
 {"level":"error","source":"idp","message":"OIDC token introspection failed — provider unreachable","createdAt":"2026-03-19T11:05:22Z"},
 {"level":"info","source":"scim","message":"User provisioned to 100% of_groups","createdAt":"2026-03-19T23:59:59Z"},
 {"level":"info","source":"admin","message":"Config changed","createdAt":"2026-03-20T00:00:00Z"}
]}`

// Messages of the fixture by number (1 = oldest line).
var msg = map[int]string{
	1: "User signed in",
	2: "Failed login attempt — invalid credentials",
	3: "MFA verification failed — TOTP code expired",
	4: "Session refresh attempted with expired refresh token",
	5: "OIDC token introspection failed — provider unreachable",
	6: "User provisioned to 100% of_groups",
	7: "Config changed",
}

func msgs(ns ...int) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, msg[n])
	}
	return out
}

func TestList(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newEnv(t, st, nil)
		in := e.ingest(t, "lister", seed)
		require.Equal(t, 7, in.Count)
		e.ingest(t, "other", `{"level":"error","source":"auth","message":"Failed login attempt of another tenant","createdAt":"2026-03-18T00:00:00Z"}`)

		t.Run("empty tenant", func(t *testing.T) {
			r := e.do(t, req{path: "/api/v1/logs", token: token(t, "nobody", loghttp.PermRead), tenant: "nobody"})
			require.Equal(t, 200, r.Status)
			assert.JSONEq(t, `{"success":true,"data":{"logs":[],"total":0,"page":1,"limit":50,"nextCursor":null}}`, string(r.Raw))
		})
		t.Run("envelope and entry fields as the spec", func(t *testing.T) {
			r := e.do(t, req{path: "/api/v1/logs?source=auth&level=error&startDate=2026-03-18T00:00:00Z", token: token(t, "lister", loghttp.PermRead), tenant: "lister"})
			require.Equal(t, 200, r.Status)
			var body map[string]any
			require.NoError(t, json.Unmarshal(r.Raw, &body))
			assert.ElementsMatch(t, []string{"success", "data"}, keys(body))
			data := body["data"].(map[string]any)
			assert.ElementsMatch(t, []string{"logs", "total", "page", "limit", "nextCursor"}, keys(data), "the spec's fields and the cursor")
			entries := data["logs"].([]any)
			require.Len(t, entries, 1)
			entry := entries[0].(map[string]any)
			assert.ElementsMatch(t, []string{"id", "tenantId", "level", "source", "message", "metadata", "createdAt"}, keys(entry))
			assert.Equal(t, in.IDs[1], entry["id"])
			assert.Equal(t, "lister", entry["tenantId"])
			assert.Equal(t, "error", entry["level"])
			assert.Equal(t, "auth", entry["source"])
			assert.Equal(t, msg[2], entry["message"])
			assert.Equal(t, map[string]any{"userId": "u9f8e7d6", "email": "a@example.com", "attempt": float64(3)}, entry["metadata"])
			assert.Equal(t, "2026-03-18T14:32:07.000000Z", entry["createdAt"])
			assert.EqualValues(t, 1, data["total"])
		})
		tests := []struct {
			query string
			want  []string
			total int64
			page  int
			limit int
		}{
			{"", msgs(7, 6, 4, 5, 2, 3, 1), 7, 1, 50},
			{"level=error", msgs(5, 2, 3), 3, 1, 50},
			{"source=auth", msgs(2, 3, 1), 3, 1, 50},
			{"level=error&source=auth&startDate=2026-03-01T00:00:00Z", msgs(2, 3), 2, 1, 50},
			{"search=FAILED", msgs(5, 2, 3), 3, 1, 50},
			{"search=expired+token", msgs(4), 1, 1, 50},
			{"search=%22token+expired%22", msgs(), 0, 1, 50},
			{"search=%22code+expired%22", msgs(3), 1, 1, 50},
			{"search=100%25", msgs(6), 1, 1, 50},
			{"search=of_groups", msgs(6), 1, 1, 50},
			{"search=o_groups", msgs(), 0, 1, 50},
			{"endDate=2026-03-19", msgs(6, 4, 5, 2, 3, 1), 6, 1, 50},
			{"startDate=2026-03-19T23:59:59Z&endDate=2026-03-20T00:00:00Z", msgs(7, 6), 2, 1, 50},
			{"startDate=2026-03-19T12:00:00%2B01:00", msgs(7, 6, 4, 5), 4, 1, 50},
			{"limit=2", msgs(7, 6), 7, 1, 2},
			{"limit=2&page=2", msgs(4, 5), 7, 2, 2},
			{"limit=2&page=4", msgs(1), 7, 4, 2},
			{"limit=2&page=5", msgs(), 7, 5, 2},
			{"page=1&limit=500", msgs(7, 6, 4, 5, 2, 3, 1), 7, 1, 500},
			{"level=error&page=&limit=", msgs(5, 2, 3), 3, 1, 50},
		}
		for _, tt := range tests {
			t.Run("query "+tt.query, func(t *testing.T) {
				l := e.list(t, "lister", tt.query)
				assert.Equal(t, tt.want, l.messages())
				assert.Equal(t, tt.total, l.Total)
				assert.Equal(t, tt.page, l.Page)
				assert.Equal(t, tt.limit, l.Limit)
				for _, en := range l.Logs {
					assert.Equal(t, "lister", en.TenantID)
				}
			})
		}
		t.Run("pages cover every entry once", func(t *testing.T) {
			var all []string
			for p := 1; p <= 4; p++ {
				all = append(all, e.list(t, "lister", fmt.Sprintf("limit=2&page=%d", p)).messages()...)
			}
			assert.Equal(t, msgs(7, 6, 4, 5, 2, 3, 1), all)
		})
	})
}

func manyTerms(n int) string {
	terms := make([]string, n)
	for i := range terms {
		terms[i] = fmt.Sprintf("w%d", i)
	}
	return strings.Join(terms, "+")
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestListValidation(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newEnv(t, st, nil)
		tests := []struct {
			query string
			field string
		}{
			{"level=fatal", "level"},
			{"level=ERROR", "level"},
			{"level=info&level=warn", "level"},
			{"source=" + strings.Repeat("s", 129), "source"},
			{"source=a&source=b", "source"},
			{"search=" + strings.Repeat("x", 513), "search"},
			{"search=" + manyTerms(17), "search"},
			{"startDate=yesterday", "startDate"},
			{"startDate=2026-03-01T00:00:00", "startDate"},
			{"endDate=2026-13-01", "endDate"},
			{"endDate=1742385000", "endDate"},
			{"startDate=2026-03-20&endDate=2026-03-19", "startDate"},
			{"page=0", "page"},
			{"page=-1", "page"},
			{"page=abc", "page"},
			{"page=1.5", "page"},
			{"page=99999999999999999999", "page"},
			{"page=1&page=2", "page"},
			{"limit=0", "limit"},
			{"limit=501", "limit"},
			{"limit=ten", "limit"},
			{"limit=50&limit=60", "limit"},
			{"search=%zz", ""},
		}
		for _, tt := range tests {
			t.Run(tt.query[:min(len(tt.query), 40)], func(t *testing.T) {
				r := e.do(t, req{path: "/api/v1/logs?" + tt.query, token: token(t, "acme", loghttp.PermRead), tenant: "acme"})
				r.requireError(t, 400, "invalid_argument", tt.field)
			})
		}
	})
}

func TestIngest(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newEnv(t, st, nil)
		post := func(t *testing.T, tenant, contentType string, body io.Reader) *resp {
			h := http.Header{}
			if contentType != "" {
				h.Set("Content-Type", contentType)
			}
			return e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: token(t, tenant, loghttp.PermWrite), tenant: tenant, body: body, header: h})
		}

		t.Run("one entry", func(t *testing.T) {
			var in ingested
			post(t, "one", "application/json", strings.NewReader(
				`{"level":"warn","source":"auth","message":"hello","metadata":{"ip":"1.2.3.4","n":12345678901234567890,"nested":{"a":[1,"b",null]}}}`)).data(t, 201, &in)
			require.Equal(t, 1, in.Count)
			require.Len(t, in.IDs, 1)
			l := e.list(t, "one", "")
			require.Len(t, l.Logs, 1)
			got := l.Logs[0]
			assert.Equal(t, in.IDs[0], got.ID)
			assert.Equal(t, "one", got.TenantID)
			assert.Equal(t, "warn", got.Level)
			assert.Equal(t, "auth", got.Source)
			assert.Equal(t, "hello", got.Message)
			assert.Equal(t, "1.2.3.4", got.Metadata["ip"])
			assert.Equal(t, map[string]any{"a": []any{float64(1), "b", nil}}, got.Metadata["nested"])
			assert.NotEmpty(t, got.CreatedAt)
		})
		t.Run("batch keeps order, ids and createdAt", func(t *testing.T) {
			var in ingested
			post(t, "batch", "", strings.NewReader(`{"logs":[
				{"id":"0192f7a0-3b1c-7d2e-8f00-1a2b3c4d5e6f","level":"info","source":"a","message":"first","createdAt":"2026-03-01T00:00:01Z"},
				{"level":"error","source":"b","message":"second","createdAt":"2026-03-01T01:00:02+01:00","tenantId":"batch"},
				{"level":"warn","source":"c","message":"third","metadata":null,"createdAt":"2026-03-01T00:00:03.250Z"}]}`)).data(t, 201, &in)
			require.Equal(t, 3, in.Count)
			assert.Equal(t, "0192f7a0-3b1c-7d2e-8f00-1a2b3c4d5e6f", in.IDs[0])
			l := e.list(t, "batch", "")
			assert.Equal(t, []string{"third", "second", "first"}, l.messages())
			assert.Equal(t, "2026-03-01T00:00:03.250000Z", l.Logs[0].CreatedAt)
			assert.Equal(t, "2026-03-01T00:00:02.000000Z", l.Logs[1].CreatedAt)
			assert.Equal(t, in.IDs[2], l.Logs[0].ID)
			assert.Equal(t, map[string]any{}, l.Logs[0].Metadata)
		})
		t.Run("strings read as JSON writes them, whatever the spacing", func(t *testing.T) {
			// The batch is split by the scanner and strings without escapes
			// are taken as they are; escaped ones are decoded.
			var in ingested
			post(t, "strings", "application/json", strings.NewReader("{ \"logs\" :\n [ {\"level\" : \"info\",\t\"source\":\"café\", \"message\":\"say \\\"hi\\\"\\n\\tok \\u00e9 \\/ \\ud83d\\ude00\"} ,\r\n"+
				"  {\"level\":\"warn\",\"source\":\"plain\",\"message\":\"naïve 😀 <b>&amp;</b>\",\"metadata\":{ \"k\" : \"v\\u0041\" }}  ]  }")).data(t, 201, &in)
			require.Equal(t, 2, in.Count)
			l := e.list(t, "strings", "")
			require.Len(t, l.Logs, 2)
			byMessage := map[string]string{}
			for _, g := range l.Logs {
				byMessage[g.Source] = g.Message
			}
			assert.Equal(t, "say \"hi\"\n\tok é / 😀", byMessage["café"])
			assert.Equal(t, "naïve 😀 <b>&amp;</b>", byMessage["plain"])
			for _, g := range l.Logs {
				if g.Source == "plain" {
					assert.Equal(t, map[string]any{"k": "vA"}, g.Metadata)
				}
			}
		})
		t.Run("retried batch creates no duplicates", func(t *testing.T) {
			body := `{"logs":[{"id":"0192f7a0-3b1c-7d2e-8f00-000000000001","level":"info","source":"a","message":"once"},
				{"id":"0192f7a0-3b1c-7d2e-8f00-000000000002","level":"info","source":"a","message":"twice"}]}`
			var first, second ingested
			post(t, "retry", "application/json", strings.NewReader(body)).data(t, 201, &first)
			post(t, "retry", "application/json", strings.NewReader(body)).data(t, 201, &second)
			assert.Equal(t, first.IDs, second.IDs)
			assert.EqualValues(t, 2, e.list(t, "retry", "").Total)
		})
		t.Run("NDJSON by content type", func(t *testing.T) {
			var in ingested
			post(t, "nd", "application/x-ndjson", strings.NewReader(
				"{\"level\":\"info\",\"source\":\"a\",\"message\":\"n1\"}\n\n{\"level\":\"info\",\"source\":\"a\",\"message\":\"n2\"}\r\n{\"level\":\"info\",\"source\":\"a\",\"message\":\"n3\"}")).data(t, 201, &in)
			assert.Equal(t, 3, in.Count)
			assert.EqualValues(t, 3, e.list(t, "nd", "").Total)
		})
		t.Run("NDJSON detected", func(t *testing.T) {
			var in ingested
			post(t, "nd2", "application/json", strings.NewReader(
				"{\"level\":\"info\",\"source\":\"a\",\"message\":\"n1\"}\n{\"level\":\"info\",\"source\":\"a\",\"message\":\"n2\"}\n")).data(t, 201, &in)
			assert.Equal(t, 2, in.Count)
		})
		t.Run("NDJSON line with a logs field is an entry", func(t *testing.T) {
			post(t, "nd3", "application/x-ndjson", strings.NewReader(`{"logs":[{"level":"info","source":"a","message":"n1"}]}`)).
				requireError(t, 400, "invalid_argument", "logs[0].logs")
		})
		t.Run("exactly the entry limit", func(t *testing.T) {
			var b strings.Builder
			for i := range loghttp.DefaultMaxIngestEntries {
				fmt.Fprintf(&b, `{"level":"info","source":"bulk","message":"m%d"}`+"\n", i)
			}
			var in ingested
			post(t, "bulk", "application/x-ndjson", strings.NewReader(b.String())).data(t, 201, &in)
			assert.Equal(t, loghttp.DefaultMaxIngestEntries, in.Count)
			assert.EqualValues(t, loghttp.DefaultMaxIngestEntries, e.list(t, "bulk", "limit=1").Total)
		})

		bad := []struct {
			name   string
			ctype  string
			body   string
			status int
			code   string
			field  string
		}{
			{"empty body", "", "", 400, "invalid_argument", ""},
			{"whitespace body", "", " \n ", 400, "invalid_argument", ""},
			{"not JSON", "", "level=info", 400, "invalid_argument", "logs[0]"},
			{"a number", "", "42", 400, "invalid_argument", "logs[0]"},
			{"a bare array", "", `[{"level":"info","source":"a","message":"m"}]`, 400, "invalid_argument", "logs[0]"},
			{"truncated", "", `{"level":"info","source":"a"`, 400, "invalid_argument", "logs[0]"},
			{"unknown field", "", `{"level":"info","source":"a","message":"m","severity":"high"}`, 400, "invalid_argument", "logs[0].severity"},
			{"field in wrong case", "", `{"Level":"info","source":"a","message":"m"}`, 400, "invalid_argument", "logs[0].Level"},
			{"unknown field in batch entry", "", `{"logs":[{"level":"info","source":"a","message":"m"},{"level":"info","source":"a","message":"m","extra":1}]}`, 400, "invalid_argument", "logs[1].extra"},
			{"unknown top-level field", "", `{"logs":[{"level":"info","source":"a","message":"m"}],"tenant":"x"}`, 400, "invalid_argument", "tenant"},
			{"logs not an array", "", `{"logs":{"level":"info"}}`, 400, "invalid_argument", "logs"},
			{"logs empty", "", `{"logs":[]}`, 400, "invalid_argument", "logs"},
			{"batch entry not an object", "", `{"logs":[{"level":"info","source":"a","message":"m"},"x"]}`, 400, "invalid_argument", "logs[1]"},
			{"batch entry null", "", `{"logs":[null]}`, 400, "invalid_argument", "logs[0]"},
			{"trailing data after batch", "", `{"logs":[{"level":"info","source":"a","message":"m"}]} {"x":1}`, 400, "invalid_argument", ""},
			{"level missing", "", `{"source":"a","message":"m"}`, 400, "invalid_argument", "logs[0].level"},
			{"level unknown", "", `{"logs":[{"level":"info","source":"a","message":"m"},{"level":"debug","source":"a","message":"m"}]}`, 400, "invalid_argument", "logs[1].level"},
			{"level not a string", "", `{"level":3,"source":"a","message":"m"}`, 400, "invalid_argument", "logs[0].level"},
			{"source missing", "", `{"level":"info","message":"m"}`, 400, "invalid_argument", "logs[0].source"},
			{"source too long", "", `{"level":"info","source":"` + strings.Repeat("s", 129) + `","message":"m"}`, 400, "invalid_argument", "logs[0].source"},
			{"message missing", "", `{"level":"info","source":"a"}`, 400, "invalid_argument", "logs[0].message"},
			{"message empty", "", `{"level":"info","source":"a","message":""}`, 400, "invalid_argument", "logs[0].message"},
			{"message too long", "", `{"level":"info","source":"a","message":"` + strings.Repeat("m", 64<<10+1) + `"}`, 400, "invalid_argument", "logs[0].message"},
			{"message not a string", "", `{"level":"info","source":"a","message":{"text":"m"}}`, 400, "invalid_argument", "logs[0].message"},
			{"metadata not an object", "", `{"level":"info","source":"a","message":"m","metadata":[1]}`, 400, "invalid_argument", "logs[0].metadata"},
			{"metadata a string", "", `{"level":"info","source":"a","message":"m","metadata":"{}"}`, 400, "invalid_argument", "logs[0].metadata"},
			{"metadata too large", "", `{"level":"info","source":"a","message":"m","metadata":{"x":"` + strings.Repeat("x", 256<<10) + `"}}`, 400, "invalid_argument", "logs[0].metadata"},
			{"createdAt not RFC 3339", "", `{"level":"info","source":"a","message":"m","createdAt":"2026-03-01"}`, 400, "invalid_argument", "logs[0].createdAt"},
			{"createdAt a number", "", `{"level":"info","source":"a","message":"m","createdAt":1742385000}`, 400, "invalid_argument", "logs[0].createdAt"},
			{"createdAt far in the future", "", `{"level":"info","source":"a","message":"m","createdAt":"2999-01-01T00:00:00Z"}`, 400, "invalid_argument", "logs[0].createdAt"},
			{"createdAt before 1970", "", `{"level":"info","source":"a","message":"m","createdAt":"1969-12-31T23:59:59Z"}`, 400, "invalid_argument", "logs[0].createdAt"},
			{"createdAt in year 1 (Go's zero time, once stored as now)", "", `{"level":"info","source":"a","message":"m","createdAt":"0001-01-01T00:00:00Z"}`, 400, "invalid_argument", "logs[0].createdAt"},
			{"id not a UUID", "", `{"id":"42","level":"info","source":"a","message":"m"}`, 400, "invalid_argument", "logs[0].id"},
			{"id a number", "", `{"id":42,"level":"info","source":"a","message":"m"}`, 400, "invalid_argument", "logs[0].id"},
			{"NDJSON bad line", "application/x-ndjson", "{\"level\":\"info\",\"source\":\"a\",\"message\":\"m\"}\n{\"level\":\"info\",\"source\":\"a\",\"message\":\"m\"}\n{oops}\n", 400, "invalid_argument", "logs[2]"},
			{"NDJSON bad entry", "application/x-ndjson", "{\"level\":\"info\",\"source\":\"a\",\"message\":\"m\"}\n{\"level\":\"nope\",\"source\":\"a\",\"message\":\"m\"}\n", 400, "invalid_argument", "logs[1].level"},
			{"another tenant in the body", "", `{"level":"info","source":"a","message":"m","tenantId":"globex"}`, 403, "permission_denied", "logs[0].tenantId"},
			{"another tenant in a batch", "", `{"logs":[{"level":"info","source":"a","message":"m"},{"level":"info","source":"a","message":"m","tenantId":"globex"}]}`, 403, "permission_denied", "logs[1].tenantId"},
			{"tenantId not a string", "", `{"level":"info","source":"a","message":"m","tenantId":7}`, 400, "invalid_argument", "logs[0].tenantId"},
		}
		for _, tt := range bad {
			t.Run("refused: "+tt.name, func(t *testing.T) {
				post(t, "badtenant", tt.ctype, strings.NewReader(tt.body)).requireError(t, tt.status, tt.code, tt.field)
			})
		}
		t.Run("refused batches store nothing", func(t *testing.T) {
			assert.Zero(t, e.list(t, "badtenant", "").Total)
			assert.Zero(t, e.list(t, "globex", "").Total)
		})
		t.Run("Content-Encoding refused", func(t *testing.T) {
			r := e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: token(t, "acme", loghttp.PermWrite), tenant: "acme",
				body: strings.NewReader(`{"level":"info","source":"a","message":"m"}`), header: http.Header{"Content-Encoding": {"gzip"}}})
			r.requireError(t, 400, "invalid_argument", "Content-Encoding")
		})

		t.Run("413", func(t *testing.T) {
			tooBig := bytes.Repeat([]byte(" "), loghttp.DefaultMaxIngestBytes+1)
			t.Run("Content-Length over the limit", func(t *testing.T) {
				post(t, "big", "application/json", bytes.NewReader(tooBig)).requireError(t, 413, "payload_too_large", "")
			})
			t.Run("chunked body over the limit", func(t *testing.T) {
				body := io.MultiReader(strings.NewReader(`{"logs":[{"level":"info","source":"a","message":"m"}`), bytes.NewReader(tooBig))
				post(t, "big", "application/json", struct{ io.Reader }{body}).requireError(t, 413, "payload_too_large", "")
			})
			t.Run("NDJSON over the limit", func(t *testing.T) {
				line := `{"level":"info","source":"a","message":"` + strings.Repeat("m", 60_000) + `"}` + "\n"
				body := strings.Repeat(line, loghttp.DefaultMaxIngestBytes/len(line)+1)
				post(t, "big", "application/x-ndjson", struct{ io.Reader }{strings.NewReader(body)}).requireError(t, 413, "payload_too_large", "")
			})
			t.Run("one entry over the count", func(t *testing.T) {
				var b strings.Builder
				b.WriteString(`{"logs":[`)
				for i := range loghttp.DefaultMaxIngestEntries + 1 {
					if i > 0 {
						b.WriteByte(',')
					}
					b.WriteString(`{"level":"info","source":"a","message":"m"}`)
				}
				b.WriteString(`]}`)
				r := post(t, "big", "application/json", strings.NewReader(b.String()))
				r.requireError(t, 413, "payload_too_large", "")
				assert.Contains(t, r.Env.Error.Message, "10000")
			})
			assert.Zero(t, e.list(t, "big", "").Total)
		})
	})
}

func TestIngestLimitsConfigurable(t *testing.T) {
	st := openStore(t, "sqlite")
	e := newEnv(t, st, &envOptions{opts: loghttp.Options{MaxIngestEntries: 2, MaxIngestBytes: 200}})
	post := func(body string) *resp {
		return e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: token(t, "acme", loghttp.PermWrite), tenant: "acme", body: strings.NewReader(body)})
	}
	entry := `{"level":"info","source":"a","message":"m"}`
	var in ingested
	post(entry+"\n"+entry).data(t, 201, &in)
	post(entry+"\n"+entry+"\n"+entry).requireError(t, 413, "payload_too_large", "")
	post(`{"level":"info","source":"a","message":"`+strings.Repeat("m", 200)+`"}`).requireError(t, 413, "payload_too_large", "")
}

func TestIngestSlowBody(t *testing.T) {
	st := openStore(t, "sqlite")
	e := newEnv(t, st, &envOptions{opts: loghttp.Options{BodyTimeout: 300 * time.Millisecond}})
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	body := `{"level":"info","source":"a","message":"m"}`
	_, err = fmt.Fprintf(conn, "POST /api/v1/logs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-Tenant-ID: acme\r\nContent-Length: %d\r\n\r\n%s",
		token(t, "acme", loghttp.PermWrite), len(body), body[:10]) // and then nothing more
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "a stalled body is cut off")
	defer resp.Body.Close()
	assert.Equal(t, 400, resp.StatusCode)
	b, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(b), "did not arrive within")
	assert.Zero(t, e.list(t, "acme", "").Total)
}
