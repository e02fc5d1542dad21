package loghttp_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore/bunstore"
	"github.com/ithbat/logs/logstream"
)

// JSON bodies that a lenient decoder would take in some way of its own
// choosing (the last of two equal keys, U+FFFD for bytes that are not
// UTF-8, a number no client can decode) are refused, naming the field.
func TestAmbiguousJSONBodies(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newStreamEnv(t, st, logstream.Options{})
		x := newExportEnv(t, st, nil)
		const entry = `"level":"info","source":"a"`
		tests := []struct {
			name  string
			path  string
			perm  string
			body  string
			field string
		}{
			{"ingest: key twice", "/api/v1/logs", loghttp.PermWrite, `{` + entry + `,"message":"m","level":"error"}`, "logs[0].level"},
			{"ingest: tenantId twice", "/api/v1/logs", loghttp.PermWrite, `{` + entry + `,"message":"m","tenantId":"dup","tenantId":"dup"}`, "logs[0].tenantId"},
			{"ingest: batch entry key twice", "/api/v1/logs", loghttp.PermWrite, `{"logs":[{` + entry + `,"message":"m"},{` + entry + `,"message":"m","message":"n"}]}`, "logs[1].message"},
			{"ingest: logs twice", "/api/v1/logs", loghttp.PermWrite, `{"logs":[{` + entry + `,"message":"m"}],"logs":[{` + entry + `,"message":"n"}]}`, "logs"},
			{"ingest: NDJSON line key twice", "/api/v1/logs", loghttp.PermWrite, `{` + entry + `,"message":"m"}` + "\n" + `{` + entry + `,"source":"b","message":"m"}`, "logs[1].source"},
			{"ingest: message not UTF-8", "/api/v1/logs", loghttp.PermWrite, `{` + entry + `,"message":"caf` + "\xe9" + `"}`, "logs[0].message"},
			{"ingest: source not UTF-8", "/api/v1/logs", loghttp.PermWrite, `{"level":"info","source":"` + "\xff" + `","message":"m"}`, "logs[0].source"},
			{"ingest: metadata value not UTF-8", "/api/v1/logs", loghttp.PermWrite, `{` + entry + `,"message":"m","metadata":{"k":"` + "\xc3\x28" + `"}}`, "logs[0].metadata"},
			{"ingest: metadata key not UTF-8", "/api/v1/logs", loghttp.PermWrite, `{` + entry + `,"message":"m","metadata":{"` + "\xff" + `":1}}`, "logs[0].metadata"},
			{"ingest: batch entry not UTF-8", "/api/v1/logs", loghttp.PermWrite, `{"logs":[{` + entry + `,"message":"m"},{` + entry + `,"message":"` + "\xfe" + `"}]}`, "logs[1].message"},
			{"ingest: metadata key twice", "/api/v1/logs", loghttp.PermWrite, `{` + entry + `,"message":"m","metadata":{"a":1,"a":2}}`, "logs[0].metadata"},
			{"ingest: metadata key twice, once escaped", "/api/v1/logs", loghttp.PermWrite, `{` + entry + `,"message":"m","metadata":{"a":1,"\u0061":1}}`, "logs[0].metadata"},
			{"ingest: nested metadata key twice", "/api/v1/logs", loghttp.PermWrite, `{` + entry + `,"message":"m","metadata":{"user":{"id":"u1","role":"x","id":"u2"}}}`, "logs[0].metadata"},
			{"ingest: metadata key twice in an array", "/api/v1/logs", loghttp.PermWrite, `{"logs":[{` + entry + `,"message":"m"},{` + entry + `,"message":"m","metadata":{"l":[1,[{"k":1}],{"k":1,"k":2}]}}]}`, "logs[1].metadata"},
			{"ingest: NDJSON metadata key twice deep", "/api/v1/logs", loghttp.PermWrite, `{` + entry + `,"message":"m"}` + "\n" + `{` + entry + `,"message":"m","metadata":{"a":{"b":{"c":{"d":1,"d":1}}}}}`, "logs[1].metadata"},
			{"ingest: metadata number out of range", "/api/v1/logs", loghttp.PermWrite, `{` + entry + `,"message":"m","metadata":{"n":1e999}}`, "logs[0].metadata"},
			{"ingest: nested metadata number out of range", "/api/v1/logs", loghttp.PermWrite, `{` + entry + `,"message":"m","metadata":{"a":[1,{"n":-2e400}]}}`, "logs[0].metadata"},
			{"ingest: NUL in message", "/api/v1/logs", loghttp.PermWrite, `{` + entry + `,"message":"m\u0000"}`, "logs[0].message"},
			{"ingest: NUL in source", "/api/v1/logs", loghttp.PermWrite, `{"level":"info","source":"a\u0000","message":"m"}`, "logs[0].source"},
			{"export: NUL in search", "/api/v1/logs/export", loghttp.PermRead, `{"format":"csv","search":"\u0000"}`, "search"},
			{"ticket: NUL in source", "/api/v1/logs/stream/tickets", loghttp.PermRead, `{"source":"x\u0000"}`, "source"},
			{"export: format twice", "/api/v1/logs/export", loghttp.PermRead, `{"format":"csv","format":"json"}`, "format"},
			{"export: search not UTF-8", "/api/v1/logs/export", loghttp.PermRead, `{"format":"csv","search":"` + "\xff" + `"}`, "search"},
			{"export: source not UTF-8", "/api/v1/logs/export", loghttp.PermRead, `{"format":"csv","source":"` + "\xe9t\xe9" + `"}`, "source"},
			{"ticket: level twice", "/api/v1/logs/stream/tickets", loghttp.PermRead, `{"level":"info","level":"error"}`, "level"},
			{"ticket: search not UTF-8", "/api/v1/logs/stream/tickets", loghttp.PermRead, `{"search":"` + "\xff" + `"}`, "search"},
			{"ticket: unknown field", "/api/v1/logs/stream/tickets", loghttp.PermRead, `{"level":"error","format":"csv"}`, "format"},
			{"ticket: paging is not a filter", "/api/v1/logs/stream/tickets", loghttp.PermRead, `{"page":2}`, "page"},
			{"ticket: level not a string", "/api/v1/logs/stream/tickets", loghttp.PermRead, `{"level":1}`, "level"},
			{"ticket: an array", "/api/v1/logs/stream/tickets", loghttp.PermRead, `[]`, ""},
			{"ticket: trailing data", "/api/v1/logs/stream/tickets", loghttp.PermRead, `{} {}`, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				base := e.URL
				if strings.HasPrefix(tt.path, "/api/v1/logs/export") {
					base = x.URL
				}
				r := (&env{URL: base}).do(t, req{method: http.MethodPost, path: tt.path, token: token(t, "dup", tt.perm), tenant: "dup",
					body: strings.NewReader(tt.body), header: http.Header{"Content-Type": {"application/json"}}})
				r.requireError(t, 400, "invalid_argument", tt.field)
			})
		}
		for _, q := range []string{"search=a%00", "source=%00"} {
			e.do(t, req{path: "/api/v1/logs?" + q, token: token(t, "dup", loghttp.PermRead), tenant: "dup"}).
				requireError(t, 400, "invalid_argument", strings.Split(q, "=")[0])
		}
		assert.Zero(t, e.list(t, "dup", "").Total, "nothing was stored")
		t.Run("still accepted", func(t *testing.T) {
			var in ingested
			e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: token(t, "ok", loghttp.PermWrite), tenant: "ok",
				body: strings.NewReader(`{"level":"info","source":"caf\u00e9","message":"été \ud83d\ude00 \ud800",` +
					`"metadata":{"n":1.7976931348623157e308,"big":123456789012345678901234567890,"s":"a\"b",` +
					`"same":{"same":1},"list":[{"k":1},{"k":2}],"x":{"a":{"k":1},"b":{"k":2}},"e":{},"z":[]}}`)}).data(t, 201, &in)
			l := e.list(t, "ok", "")
			require.Len(t, l.Logs, 1)
			assert.Equal(t, "café", l.Logs[0].Source)
			assert.Equal(t, "été 😀 \ufffd", l.Logs[0].Message, "an escaped lone surrogate is valid JSON; it reads as U+FFFD")
			tk, _ := e.ticket(t, "ok", `{"level":"error","source":null}`)
			assert.NotEmpty(t, tk)
			tk, _ = e.ticket(t, "ok", ``)
			assert.NotEmpty(t, tk)
		})
	})
}

// A client that sends the export body slowly is cut off after
// BodyTimeout, as on ingest.
func TestSlowRequestBodies(t *testing.T) {
	st := openStore(t, "sqlite")
	x := newExportEnv(t, st, nil)
	e := newEnv(t, st, &envOptions{opts: loghttp.Options{BodyTimeout: 300 * time.Millisecond, Export: x.exp}})
	for _, path := range []string{"/api/v1/logs/export", "/api/v1/logs"} {
		t.Run(path, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
			require.NoError(t, err)
			defer conn.Close()
			body := `{"format":"csv","level":"info","source":"a","message":"m"}`
			perm := loghttp.PermRead
			if path == "/api/v1/logs" {
				perm = loghttp.PermWrite
			}
			_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-Tenant-ID: acme\r\n"+
				"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, token(t, "acme", perm), len(body), body[:10])
			require.NoError(t, err)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err, "a stalled body is cut off")
			defer resp.Body.Close()
			assert.Equal(t, 400, resp.StatusCode)
			b, _ := io.ReadAll(resp.Body)
			assert.Contains(t, string(b), "did not arrive within")
		})
	}
}

// HTTP requires HEAD wherever GET is served (RFC 9110, 9.1): the same
// status and headers, no body. The stream is GET only.
func TestHead(t *testing.T) {
	st := openStore(t, "sqlite")
	x := newExportEnv(t, st, nil)
	seedExport(t, x, "acme", 3)
	_, sub := x.submit(t, "acme", `{"format":"csv"}`)
	ready := x.poll(t, "acme", sub.ExportID)
	require.Equal(t, "ready", ready.Status)
	s := newStreamEnv(t, st, logstream.Options{})

	head := func(t *testing.T, base, path string, h http.Header) *http.Response {
		r, err := http.NewRequestWithContext(t.Context(), http.MethodHead, base+path, nil)
		require.NoError(t, err)
		r.Header = h
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Empty(t, b)
		assert.NotEmpty(t, resp.Header.Get("X-Request-ID"))
		return resp
	}
	auth := http.Header{"Authorization": {"Bearer " + token(t, "acme", loghttp.PermRead)}, "X-Tenant-ID": {"acme"}}
	for _, path := range []string{"/healthz", "/api/v1/logs?level=info", "/api/v1/logs/export/" + sub.ExportID} {
		t.Run(path, func(t *testing.T) {
			resp := head(t, x.URL, path, auth)
			assert.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
			assert.NotEmpty(t, resp.Header.Get("Content-Length"))
		})
	}
	t.Run("refusals as for GET", func(t *testing.T) {
		assert.Equal(t, 401, head(t, x.URL, "/api/v1/logs", nil).StatusCode)
		assert.Equal(t, 400, head(t, x.URL, "/api/v1/logs?limit=501", auth).StatusCode)
	})
	t.Run("download", func(t *testing.T) {
		resp := head(t, x.URL, strings.TrimPrefix(*ready.DownloadURL, x.URL), nil)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.NotEqual(t, "0", resp.Header.Get("Content-Length"))
	})
	t.Run("not on the stream", func(t *testing.T) {
		resp := head(t, s.URL, "/api/v1/logs/stream", auth)
		assert.Equal(t, 405, resp.StatusCode)
		assert.Equal(t, "GET", resp.Header.Get("Allow"))
		all, _ := s.B.Streams("acme")
		assert.Zero(t, all)
	})
	t.Run("Allow names HEAD", func(t *testing.T) {
		r := x.do(t, req{method: http.MethodPut, path: "/api/v1/logs", token: token(t, "acme", loghttp.PermRead), tenant: "acme"})
		r.requireError(t, 405, "method_not_allowed", "")
		assert.Equal(t, "GET, HEAD, POST", r.Header.Get("Allow"))
	})
}

// The write deadline of one answer does not outlive it: a kept-alive
// connection that idled past it still gets its next answers, the
// "100 Continue" of an Expect request included.
func TestWriteDeadlineEndsWithTheAnswer(t *testing.T) {
	st := openStore(t, "sqlite")
	e := newEnv(t, st, &envOptions{opts: loghttp.Options{WriteTimeout: 100 * time.Millisecond}})
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	br := bufio.NewReader(conn)
	_, err = fmt.Fprintf(conn, "GET /api/v1/logs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-Tenant-ID: acme\r\n\r\n",
		token(t, "acme", loghttp.PermRead))
	require.NoError(t, err)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.Equal(t, 200, resp.StatusCode)

	// The first answer's write deadline is wall-clock time on the
	// connection: only its passing can show that it does not outlive the
	// answer (a wait for a time, not a guess at an order).
	time.Sleep(300 * time.Millisecond)
	body := `{"level":"info","source":"a","message":"after idle"}`
	_, err = fmt.Fprintf(conn, "POST /api/v1/logs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-Tenant-ID: acme\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", token(t, "acme", loghttp.PermWrite), len(body))
	require.NoError(t, err)
	line, err := br.ReadString('\n')
	require.NoError(t, err, "the server answers the Expect")
	require.Equal(t, "HTTP/1.1 100 Continue\r\n", line)
	_, err = br.ReadString('\n')
	require.NoError(t, err)
	_, err = io.WriteString(conn, body)
	require.NoError(t, err)
	resp, err = http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	assert.Equal(t, 201, resp.StatusCode)
}
