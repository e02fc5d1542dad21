package logclient_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logclient"
	"github.com/ithbat/logs/logquery"
)

// hostile serves h: a server that does not keep the API's promises.
func hostile(t *testing.T, h http.HandlerFunc) *logclient.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := logclient.New(srv.URL, "t", "acme", nil)
	require.NoError(t, err)
	return c
}

const entryJSON = `{"id":"019ad1f0-8a3c-7d2e-9c11-3b0f6a2e9d41","tenantId":"acme","level":"info","source":"s","message":"m","metadata":{},"createdAt":"2026-11-30T14:32:07.000000Z"}`

func TestHostileAnswers(t *testing.T) {
	ctx := t.Context()
	for name, tc := range map[string]struct {
		h    http.HandlerFunc
		code logs.ErrorCode
		msg  string
	}{
		"a proxy's HTML 502": {func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			fmt.Fprint(w, "<html>bad gateway</html>")
		}, logs.CodeUnavailable, "without an error envelope"},
		"200 that is not JSON": {func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") },
			logs.CodeInternal, "not a success envelope"},
		"success false with 200": {func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"success":false}`) },
			logs.CodeInternal, "not a success envelope"},
		"no logs array": {func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"success":true,"data":{}}`) },
			logs.CodeInternal, "no logs array"},
		"another tenant's entry": {func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"success":true,"data":{"logs":[`+strings.Replace(entryJSON, `"acme"`, `"evil"`, 1)+`],"total":1,"page":1,"limit":50,"nextCursor":null}}`)
		}, logs.CodeInternal, `tenant "evil"`},
		"an unknown code keeps the status's": {func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(409)
			fmt.Fprint(w, `{"success":false,"error":{"code":"weird\nthing","message":"line1\nline2\u001b[2J\u009b1m","field":"f"}}`)
		}, logs.CodeConflict, "line1 line2"},
		"an endless answer": {func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"success":true,"data":{"logs":["`)
			for range 2 << 10 {
				if _, err := w.Write(bytes.Repeat([]byte("x"), 1<<10)); err != nil {
					return
				}
			}
		}, logs.CodeInternal, "larger than"},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(tc.h)
			defer srv.Close()
			c, err := logclient.New(srv.URL, "t", "acme", &logclient.Options{MaxResponseBytes: 1 << 20})
			require.NoError(t, err)
			_, err = c.Query(ctx, logquery.Filter{})
			require.Error(t, err)
			assert.Equal(t, tc.code, logs.Code(err), "%v", err)
			assert.Contains(t, err.Error(), tc.msg)
			assert.NotContains(t, err.Error(), "\n")
			assert.NotContains(t, err.Error(), "\x1b", "no escape sequence of a server reaches a terminal")
			assert.NotContains(t, err.Error(), "\u009b")
		})
	}
}

func TestHostileStream(t *testing.T) {
	for name, tc := range map[string]struct {
		h   http.HandlerFunc
		msg string
	}{
		"not an event stream": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>")
		}, "not text/event-stream"},
		"an event that is not an entry": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "id: 1\ndata: {\"hello\":1}\n\n")
		}, "not a log entry"},
		"a huge event": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: ")
			for range 20 << 10 {
				if _, err := w.Write(bytes.Repeat([]byte("x"), 1<<10)); err != nil {
					return
				}
			}
		}, "larger than"},
		"another tenant's entry": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "id: 1\ndata: "+strings.Replace(entryJSON, `"acme"`, `"evil"`, 1)+"\n\n")
		}, `tenant "evil"`},
	} {
		t.Run(name, func(t *testing.T) {
			c := hostile(t, tc.h)
			var errs []error
			for _, err := range c.Stream(logquery.Filter{}, nil).Entries(t.Context()) {
				errs = append(errs, err)
			}
			require.Len(t, errs, 1, "one error, no retry")
			assert.Contains(t, errs[0].Error(), tc.msg)
		})
	}

	t.Run("replays, cuts and retry", func(t *testing.T) {
		// A server that cuts every answer after one event, replays the
		// event before the one asked for, and asks for a retry of 10ms:
		// the stream resumes each time and yields each entry once.
		var n atomic.Int32
		var mu sync.Mutex
		var lastIDs []string
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			k := int(n.Add(1))
			mu.Lock()
			lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID"))
			mu.Unlock()
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "retry: 10\n\n")
			for i := max(k-1, 1); i <= k; i++ {
				e := strings.Replace(entryJSON, "9d41", fmt.Sprintf("%04d", i), 1)
				fmt.Fprintf(w, "id: e%d\ndata: %s\n\n", i, e)
			}
			fmt.Fprint(w, "id: e-half\ndata: {\"id\":") // cut inside an event
		})
		var ids []string
		var waits []time.Duration
		s := c.Stream(logquery.Filter{}, &logclient.StreamOptions{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
			OnReconnect: func(err error, wait time.Duration) { waits = append(waits, wait) }})
		for e, err := range s.Entries(t.Context()) {
			require.NoError(t, err)
			ids = append(ids, e.ID[len(e.ID)-4:])
			if len(ids) == 4 {
				break
			}
		}
		assert.Equal(t, []string{"0001", "0002", "0003", "0004"}, ids)
		mu.Lock()
		assert.Equal(t, []string{"", "e1", "e2", "e3"}, lastIDs, "it resumes after the last complete event")
		mu.Unlock()
		assert.Equal(t, "e4", s.LastEventID())
		for _, w := range waits {
			assert.GreaterOrEqual(t, w, 10*time.Millisecond, "retry: is honoured")
		}
	})

	t.Run("429 waits Retry-After, 503 retries", func(t *testing.T) {
		var n atomic.Int32
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			switch n.Add(1) {
			case 1:
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(429)
			case 2:
				w.WriteHeader(503)
			default:
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprintf(w, "id: x\ndata: %s\n\n", entryJSON)
			}
		})
		var waits []time.Duration
		var errs []error
		s := c.Stream(logquery.Filter{}, &logclient.StreamOptions{MinBackoff: time.Millisecond,
			OnReconnect: func(err error, wait time.Duration) { waits, errs = append(waits, wait), append(errs, err) }})
		for _, err := range s.Entries(t.Context()) {
			require.NoError(t, err)
			break
		}
		require.Len(t, waits, 2)
		assert.Equal(t, time.Second, waits[0])
		assert.Equal(t, logs.CodeRateLimited, logs.Code(errs[0]))
		assert.Equal(t, logs.CodeUnavailable, logs.Code(errs[1]))
	})

	t.Run("a silent connection is cut", func(t *testing.T) {
		var n atomic.Int32
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			if n.Add(1) == 1 {
				w.(http.Flusher).Flush()
				<-r.Context().Done() // says nothing, not even a heartbeat
				return
			}
			fmt.Fprintf(w, "id: x\ndata: %s\n\n", entryJSON)
		})
		var errs []error
		s := c.Stream(logquery.Filter{}, &logclient.StreamOptions{IdleTimeout: 100 * time.Millisecond, MinBackoff: time.Millisecond,
			OnReconnect: func(err error, wait time.Duration) { errs = append(errs, err) }})
		for _, err := range s.Entries(t.Context()) {
			require.NoError(t, err)
			break
		}
		require.Len(t, errs, 1)
		assert.Contains(t, errs[0].Error(), "nothing arrived")
	})

	t.Run("the context ends a retrying stream", func(t *testing.T) {
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		var errs []error
		for _, err := range c.Stream(logquery.Filter{}, &logclient.StreamOptions{MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}).Entries(ctx) {
			errs = append(errs, err)
		}
		require.Len(t, errs, 1)
		assert.True(t, errors.Is(errs[0], context.DeadlineExceeded))
	})
}

func TestHostileExport(t *testing.T) {
	ready := func(records int, file string, size int) *logclient.Client {
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/file":
				assert.Empty(t, r.Header.Get("Authorization"), "no token goes to a download URL")
				if size >= 0 {
					w.Header().Set("Content-Length", fmt.Sprint(size))
				}
				fmt.Fprint(w, file)
			case r.Method == http.MethodPost:
				w.WriteHeader(202)
				fmt.Fprintf(w, `{"success":true,"data":{"exportId":"exp-1","status":"processing","format":"csv","estimatedRecords":%d,"downloadUrl":null,"expiresAt":null,"createdAt":"2026-11-30T14:32:07.000000Z"}}`, records)
			default:
				fmt.Fprintf(w, `{"success":true,"data":{"exportId":"exp-1","status":"ready","format":"csv","estimatedRecords":%d,"downloadUrl":"/file","expiresAt":"2026-11-30T15:32:07.000000Z","createdAt":"2026-11-30T14:32:07.000000Z"}}`, records)
			}
		})
		return c
	}
	header := "id,tenantId,level,source,message,metadata,createdAt\r\n"
	row := "1,acme,info,s,\"a \"\"quoted\"\"\r\nline\",{},t\r\n"
	for name, tc := range map[string]struct {
		records int
		file    string
		size    int
		err     error
	}{
		"as announced":            {2, header + row + row, -1, nil},
		"a row missing":           {3, header + row + row, -1, logclient.ErrRecordCount},
		"a row too many":          {1, header + row + row, -1, logclient.ErrRecordCount},
		"cut inside a quote":      {2, header + row + "1,acme,\"abc", -1, logclient.ErrRecordCount},
		"shorter than its length": {2, header + row + row, len(header+row+row) + 10, logs.ErrUnavailable},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := ready(tc.records, tc.file, tc.size).Export(t.Context(), logclient.CSV, logquery.Filter{}, &buf, &logclient.ExportOptions{MaxPoll: time.Millisecond})
			if tc.err == nil {
				require.NoError(t, err)
				assert.Equal(t, tc.file, buf.String())
				return
			}
			assert.ErrorIs(t, err, tc.err)
		})
	}
	t.Run("failed", func(t *testing.T) {
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			st := "processing"
			if r.Method == http.MethodGet {
				st = "failed"
			}
			fmt.Fprintf(w, `{"success":true,"data":{"exportId":"exp-1","status":%q,"format":"csv","estimatedRecords":1,"downloadUrl":null,"expiresAt":null,"createdAt":"2026-11-30T14:32:07.000000Z","error":"the bucket refused"}}`, st)
		})
		j, err := c.Export(t.Context(), logclient.CSV, logquery.Filter{}, &bytes.Buffer{}, nil)
		assert.ErrorIs(t, err, logclient.ErrExportFailed)
		assert.Contains(t, err.Error(), "the bucket refused")
		assert.Equal(t, "exp-1", j.ID)
	})
}

func TestHostileEnds(t *testing.T) {
	// A server that ends every stream at once, without a retry: the
	// client does not reconnect in a tight loop.
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: end\ndata: {\"reason\":\"shutdown\",\"message\":\"bye\"}\n\n")
	})
	var waits []time.Duration
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := c.Stream(logquery.Filter{}, &logclient.StreamOptions{MinBackoff: time.Millisecond, MaxBackoff: 64 * time.Millisecond,
		OnReconnect: func(err error, wait time.Duration) {
			var end *logclient.EndError
			require.ErrorAs(t, err, &end)
			assert.Equal(t, "shutdown", end.Reason)
			if waits = append(waits, wait); len(waits) == 8 {
				cancel()
			}
		}})
	for _, err := range s.Entries(ctx) {
		assert.ErrorIs(t, err, context.Canceled)
	}
	require.Len(t, waits, 8)
	assert.Greater(t, waits[7], waits[0]*8, "the waits grow: %v", waits)
}

func TestHostileIngest(t *testing.T) {
	t.Run("a batch too large for the server is sent in halves", func(t *testing.T) {
		var mu sync.Mutex
		var sizes []int
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(r.Body)
			n := strings.Count(strings.TrimSpace(buf.String()), "\n") + 1
			mu.Lock()
			sizes = append(sizes, n)
			mu.Unlock()
			if n > 3 {
				w.WriteHeader(413)
				fmt.Fprint(w, `{"success":false,"error":{"code":"payload_too_large","message":"too large"}}`)
				return
			}
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("%q", fmt.Sprint(i))
			}
			w.WriteHeader(201)
			fmt.Fprintf(w, `{"success":true,"data":{"ids":[%s],"count":%d}}`, strings.Join(ids, ","), n)
		})
		in := make([]logs.Entry, 10)
		for i := range in {
			in[i] = logs.Entry{Level: logs.LevelInfo, Source: "s", Message: "m"}
		}
		ids, err := c.Ingest(t.Context(), in, nil)
		require.NoError(t, err)
		assert.Len(t, ids, 10)
		assert.Equal(t, []int{10, 5, 2, 3, 5, 2, 3}, sizes)
	})
	t.Run("fewer ids than entries", func(t *testing.T) {
		c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(201)
			fmt.Fprint(w, `{"success":true,"data":{"ids":["a"],"count":1}}`)
		})
		_, err := c.Ingest(t.Context(), make([]logs.Entry, 2), nil)
		assert.ErrorContains(t, err, "stored 1 entries of a batch of 2")
	})
}

func TestHostileDownload(t *testing.T) {
	// A download that never ends: it stops once it holds more records
	// than announced.
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/file":
			fmt.Fprint(w, "id,tenantId,level,source,message,metadata,createdAt\r\n")
			for {
				if _, err := fmt.Fprint(w, "1,acme,info,s,m,{},t\r\n"); err != nil {
					return
				}
			}
		default:
			fmt.Fprint(w, `{"success":true,"data":{"exportId":"exp-1","status":"ready","format":"csv","estimatedRecords":3,"downloadUrl":"/file","expiresAt":"2026-11-30T15:32:07.000000Z","createdAt":"2026-11-30T14:32:07.000000Z"}}`)
		}
	})
	var buf bytes.Buffer
	_, err := c.Export(t.Context(), logclient.CSV, logquery.Filter{}, &buf, nil)
	assert.ErrorIs(t, err, logclient.ErrRecordCount)
	assert.Less(t, buf.Len(), 1<<20)

	j := &logclient.ExportJob{ID: "exp-1", Status: "ready", Format: "csv", DownloadURL: "javascript:alert(1)"}
	_, err = c.DownloadExport(t.Context(), j, &buf, nil)
	assert.ErrorContains(t, err, "not an http(s) URL")
}

func TestDownloadErrorHidesSignature(t *testing.T) {
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) {})
	j := &logclient.ExportJob{ID: "exp-1", Status: "ready", Format: "csv", DownloadURL: "http://127.0.0.1:1/dl?signature=SECRET&expiry=1"}
	_, err := c.DownloadExport(t.Context(), j, &bytes.Buffer{}, nil)
	require.ErrorIs(t, err, logs.ErrUnavailable)
	assert.NotContains(t, err.Error(), "SECRET")
	assert.Contains(t, err.Error(), "127.0.0.1:1/dl")
}

func TestAllWithoutCursors(t *testing.T) {
	// A server of the API document alone: no nextCursor, pages by number.
	var pages []string
	var mu sync.Mutex
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		page := r.URL.Query().Get("page")
		mu.Lock()
		pages = append(pages, page)
		mu.Unlock()
		assert.Empty(t, r.URL.Query().Get("cursor"))
		n := map[string]int{"": 2, "2": 2, "3": 1}[page]
		var es []string
		for i := range n {
			es = append(es, strings.Replace(entryJSON, "9d41", fmt.Sprintf("%s%03d", page+"0", i), 1))
		}
		p := map[string]string{"": "1"}[page]
		if p == "" {
			p = page
		}
		fmt.Fprintf(w, `{"success":true,"data":{"logs":[%s],"total":5,"page":%s,"limit":2}}`, strings.Join(es, ","), p)
	})
	n := 0
	for _, err := range c.All(t.Context(), logquery.Filter{Limit: 2}) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 5, n)
	assert.Equal(t, []string{"", "2", "3"}, pages)

	bad := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"success":true,"data":{"logs":[],"total":0,"page":1,"limit":2,"nextCursor":7}}`)
	})
	_, err := bad.Query(t.Context(), logquery.Filter{})
	assert.ErrorContains(t, err, "nextCursor")
}
