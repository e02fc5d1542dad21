package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/browsertest"
)

// TestBrowserReconnectsTicketStream: a browser's own EventSource, opened
// through a stream ticket, reconnects by itself after logsd restarts (the
// same URL, with Last-Event-ID) and receives what was written after the
// restart, nothing twice; the spent ticket still opens no new stream.
func TestBrowserReconnectsTicketStream(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			env := databaseEnv(t, backend)
			env["LOGSD_DATA_DIR"] = t.TempDir()
			d := start(t, env)
			addr := d.Addr().String()
			tok, err := run(t, env, "token", "--tenant", "acme", "--permissions", "log:read,log:write")
			require.NoError(t, err)
			tok = strings.TrimSpace(tok)
			status, body := call(t, http.MethodPost, d.URL+"/api/v1/logs/stream/tickets", tok, "acme", `{"source":"auth"}`)
			require.Equal(t, http.StatusCreated, status, body)
			streamURL := body["data"].(map[string]any)["streamUrl"].(string)

			ctx := browsertest.New(t)
			js, _ := json.Marshal(streamURL)
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(d.URL+"/healthz")))
			browsertest.Eval[bool](t, ctx, `
				window.got = [];
				window.es = new EventSource(`+string(js)+`);
				window.es.onmessage = (e) => window.got.push(JSON.parse(e.data).message);
				true`)
			browsertest.Eventually(t, ctx, `window.es.readyState === 1`, 20*time.Second, "the stream opens")

			ingest := func(base, prefix string) {
				var lines []string
				for i := range 20 {
					lines = append(lines, fmt.Sprintf(`{"level":"info","source":"auth","message":"%s %02d"}`, prefix, i))
				}
				lines = append(lines, `{"level":"info","source":"other","message":"filtered out"}`)
				status, body := call(t, http.MethodPost, base+"/api/v1/logs", tok, "acme", `{"logs":[`+strings.Join(lines, ",")+`]}`)
				require.Equal(t, http.StatusCreated, status, body)
			}
			ingest(d.URL, "before")
			browsertest.Eventually(t, ctx, `window.got.length === 20`, 20*time.Second, "the entries before the restart")

			require.NoError(t, d.Close())
			d = start(t, env, "--addr", addr)
			ingest(d.URL, "after")
			browsertest.Eventually(t, ctx, `window.got.length >= 40`, 30*time.Second, "the entries after the restart, through the browser's own reconnection")

			got := browsertest.Eval[[]string](t, ctx, `window.got`)
			state := browsertest.Eval[int](t, ctx, `window.es.readyState`)
			var want []string
			for _, p := range []string{"before", "after"} {
				for i := range 20 {
					want = append(want, fmt.Sprintf("%s %02d", p, i))
				}
			}
			assert.Equal(t, want, got, "in order, none twice, none missing")
			assert.NotEqual(t, 2, state, "the EventSource is not closed")

			// The ticket opens no second stream: without an event id of its
			// own stream it is a first use, and it was spent.
			code := browsertest.Eval[int](t, ctx, `fetch(`+string(js)+`).then(r => r.status)`)
			assert.Equal(t, http.StatusUnauthorized, code)
			resp, err := http.Get(d.URL + streamURL)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		})
	}
}
