package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/browsertest"
	"github.com/ithbat/logs/logconsole"
)

// consoleEntry is an entry as the list returns it.
type consoleEntry struct {
	ID        string         `json:"id"`
	Level     string         `json:"level"`
	Source    string         `json:"source"`
	Message   string         `json:"message"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt string         `json:"createdAt"`
}

// listAll is the API's answer to a list request (query without limit):
// every entry in one page, and the total.
func listAll(t *testing.T, base, tok, tenant string, q url.Values) ([]consoleEntry, int) {
	t.Helper()
	q.Set("limit", "500") // the most a page holds; the tests have fewer
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/api/v1/logs?"+q.Encode(), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Tenant-ID", tenant)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var env struct {
		Data struct {
			Logs  []consoleEntry `json:"logs"`
			Total int            `json:"total"`
		} `json:"data"`
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&env))
	return env.Data.Logs, env.Data.Total
}

// screenshot writes the tab as docs/console-<name>.png when
// LOGS_SCREENSHOTS is set: the README's pictures come from this test.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("LOGS_SCREENSHOTS") == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join("..", "..", "docs", "console-"+name+".png"), png, 0o644))
}

// rowIDs are the ids of the entries the table shows, top to bottom.
const rowIDs = `[...document.querySelectorAll("#rows tr.entry")].map(r => r.dataset.id)`

// rowMessages are their messages.
const rowMessages = `[...document.querySelectorAll("#rows tr.entry td.c-message")].map(td => td.textContent)`

// TestConsole drives the console in Chromium against a real logsd with real
// data: sign-in, the table, paging, the filter in the URL, chart narrowing
// by mouse and keyboard, an export to a finished download, the live tail
// with pause and a logsd restart, a phone's width; on both databases.
func TestConsole(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) { testConsole(t, backend) })
	}
}

func testConsole(t *testing.T, backend string) {
	env := databaseEnv(t, backend)
	env["LOGSD_DATA_DIR"] = t.TempDir()
	d := start(t, env)
	addr := d.Addr().String()
	tok, err := run(t, env, "token", "--tenant", "acme", "--permissions", "log:read,log:write")
	require.NoError(t, err)
	tok = strings.TrimSpace(tok)
	other, err := run(t, env, "token", "--tenant", "globex", "--permissions", "log:read,log:write")
	require.NoError(t, err)
	other = strings.TrimSpace(other)
	foreign, err := run(t, map[string]string{"LOGSD_DATA_DIR": t.TempDir()}, "token", "--tenant", "acme")
	require.NoError(t, err) // signed with another secret
	foreign = strings.TrimSpace(foreign)

	// 131 entries a few seconds apart over the last quarter of an hour, one
	// of them hostile; another tenant's entries that must never show.
	const xss = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>`
	now := time.Now().UTC()
	var lines []string
	for i := range 131 {
		level, source, msg := "info", "auth", fmt.Sprintf("login ok for user%03d@example.com from 10.0.%d.%d", i, i/200, i%200)
		switch {
		case i%10 == 3:
			level, msg = "error", fmt.Sprintf("login failed for user%03d@example.com", i)
		case i%5 == 1:
			level, source = "warn", "admin"
		}
		meta := fmt.Sprintf(`{"i":%d}`, i)
		if i == 7 {
			msg, meta = xss, `{"user":"<b>bold</b>","nested":{"ip":"10.0.0.1","tags":["a","b"]}}`
		}
		at := now.Add(-time.Minute - time.Duration(i)*7*time.Second).Format(time.RFC3339Nano)
		lines = append(lines, fmt.Sprintf(`{"level":%q,"source":%q,"message":%q,"metadata":%s,"createdAt":%q}`, level, source, msg, meta, at))
	}
	status, body := call(t, http.MethodPost, d.URL+"/api/v1/logs", tok, "acme", `{"logs":[`+strings.Join(lines, ",")+`]}`)
	require.Equal(t, http.StatusCreated, status, body)
	status, body = call(t, http.MethodPost, d.URL+"/api/v1/logs", other, "globex",
		`{"logs":[{"level":"error","source":"auth","message":"globex secret entry"}]}`)
	require.Equal(t, http.StatusCreated, status, body)
	all, total := listAll(t, d.URL, tok, "acme", url.Values{})
	require.Equal(t, 131, total)

	outer := t
	ctx := browsertest.New(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	})))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(d.URL+"/")))
	browsertest.Eventually(t, ctx, `!document.getElementById("signin").hidden`, 20*time.Second, "the sign-in")
	screenshot(t, ctx, "signin")

	signIn := func(token string) {
		t.Helper()
		js, _ := json.Marshal(token)
		browsertest.Eval[bool](t, ctx, `document.getElementById("token").value = `+string(js)+`;
			document.getElementById("signin-form").requestSubmit(); true`)
	}
	t.Run("sign-in refusals", func(t *testing.T) {
		signIn("not a token")
		browsertest.Eventually(t, ctx, `document.getElementById("signin-error").textContent.includes("not a JWT")`, 10*time.Second, "a word on a non-token")
		signIn(foreign)
		browsertest.Eventually(t, ctx, `!document.getElementById("signin").hidden &&
			document.getElementById("signin-error").textContent.includes("The server refused the token")`, 20*time.Second,
			"the server's refusal brings the sign-in back")
		assert.Equal(t, "", browsertest.Eval[string](t, ctx, `sessionStorage.getItem("logs.console.token") || ""`))
	})

	signIn(tok)
	browsertest.Eventually(t, ctx, `document.getElementById("total").textContent === "131 entries"`, 20*time.Second, "the exact total")
	assert.Equal(t, "acme", browsertest.Eval[string](t, ctx, `document.getElementById("tenant").textContent`))

	t.Run("table", func(t *testing.T) {
		ids := browsertest.Eval[[]string](t, ctx, rowIDs)
		require.Len(t, ids, 50)
		for i, id := range ids {
			assert.Equal(t, all[i].ID, id, "row %d in the list's order", i)
		}
		// Times in the browser's zone (Tokyo here), UTC on hover.
		first := all[0]
		at, err := time.Parse(time.RFC3339Nano, first.CreatedAt)
		require.NoError(t, err)
		tokyo, err := time.LoadLocation("Asia/Tokyo")
		require.NoError(t, err)
		shown := browsertest.Eval[string](t, ctx, `document.querySelector("#rows tr.entry time").textContent`)
		assert.Contains(t, shown, at.In(tokyo).Format("15:04:05.000"), "Tokyo time")
		assert.Equal(t, first.CreatedAt+" (UTC)", browsertest.Eval[string](t, ctx, `document.querySelector("#rows tr.entry time").title`))
		assert.Equal(t, first.Level, browsertest.Eval[string](t, ctx, `document.querySelector("#rows tr.entry .level").textContent`))

		// A hostile message is text, and its metadata formatted JSON.
		row := `document.querySelector('#rows tr.entry[data-id="` + all[7].ID + `"]')`
		assert.Equal(t, xss, browsertest.Eval[string](t, ctx, row+`.querySelector("td.c-message").textContent`))
		assert.Zero(t, browsertest.Eval[int](t, ctx, `document.querySelectorAll("#rows img, #rows script, #rows b").length`))
		assert.True(t, browsertest.Eval[bool](t, ctx, `window.pwned === undefined`))
		browsertest.Eval[bool](t, ctx, row+`.querySelector("td.c-open button").click(); true`)
		details := browsertest.Eval[string](t, ctx, row+`.nextElementSibling.hidden ? "" : `+row+`.nextElementSibling.textContent`)
		var shownEntry consoleEntry
		require.NoError(t, json.Unmarshal([]byte(details), &shownEntry), details)
		assert.Equal(t, all[7].Metadata, shownEntry.Metadata)
		assert.Equal(t, "10.0.0.1", shownEntry.Metadata["nested"].(map[string]any)["ip"])
		assert.Contains(t, details, "\n  \"metadata\": {\n", "formatted")
	})

	t.Run("paging", func(t *testing.T) {
		var pages [][]string
		pages = append(pages, browsertest.Eval[[]string](t, ctx, rowIDs))
		for range 2 {
			browsertest.Eval[bool](t, ctx, `document.getElementById("older").click(); true`)
			want := len(pages) * 50
			browsertest.Eventually(t, ctx, `document.getElementById("page").textContent.startsWith("`+fmt.Sprint(want+1)+`–")`,
				20*time.Second, "the next page")
			pages = append(pages, browsertest.Eval[[]string](t, ctx, rowIDs))
		}
		assert.True(t, browsertest.Eval[bool](t, ctx, `document.getElementById("older").disabled`), "the last page")
		assert.Equal(t, "101–131 of 131", browsertest.Eval[string](t, ctx, `document.getElementById("page").textContent`))
		var seen []string
		for _, p := range pages {
			seen = append(seen, p...)
		}
		var want []string
		for _, e := range all {
			want = append(want, e.ID)
		}
		assert.Equal(t, want, seen, "every entry once, in order, across the pages")

		browsertest.Eval[bool](t, ctx, `document.getElementById("newer").click(); true`)
		browsertest.Eventually(t, ctx, `document.getElementById("page").textContent.startsWith("51–")`, 20*time.Second, "back a page")
		assert.Equal(t, pages[1], browsertest.Eval[[]string](t, ctx, rowIDs), "the same page as before")
		browsertest.Eval[bool](t, ctx, `document.getElementById("newer").click(); true`)
		browsertest.Eventually(t, ctx, `document.getElementById("page").textContent.startsWith("1–")`, 20*time.Second, "the first page")
		assert.True(t, browsertest.Eval[bool](t, ctx, `document.getElementById("newer").disabled`))
	})
	screenshot(t, ctx, "search")

	t.Run("filter in the URL", func(t *testing.T) {
		browsertest.Eval[bool](t, ctx, `document.getElementById("f-level").value = "error";
			document.getElementById("f-search").value = "failed";
			document.getElementById("filter").requestSubmit(); true`)
		_, errors := listAll(t, d.URL, tok, "acme", url.Values{"level": {"error"}, "search": {"failed"}})
		require.NotZero(t, errors)
		want := fmt.Sprintf(`"%d entries"`, errors)
		browsertest.Eventually(t, ctx, `document.getElementById("total").textContent === `+want, 20*time.Second, "the filtered total")
		loc := browsertest.Eval[string](t, ctx, `location.search`)
		assert.Contains(t, loc, "level=error")
		assert.Contains(t, loc, "search=failed")

		// A reload (or a shared link) shows the same view.
		require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
		browsertest.Eventually(t, ctx, `document.getElementById("total").textContent === `+want, 20*time.Second, "the same total after a reload")
		assert.Equal(t, "error", browsertest.Eval[string](t, ctx, `document.getElementById("f-level").value`))
		assert.Equal(t, "failed", browsertest.Eval[string](t, ctx, `document.getElementById("f-search").value`))
		for _, m := range browsertest.Eval[[]string](t, ctx, `[...document.querySelectorAll("#rows .level")].map(e => e.textContent)`) {
			assert.Equal(t, "error", m)
		}

		// Back in the browser's history: the view before.
		require.NoError(t, chromedp.Do(ctx, chromedp.NavigateBack()))
		browsertest.Eventually(t, ctx, `document.getElementById("total").textContent === "131 entries"`, 20*time.Second, "back to everything")
	})

	t.Run("chart narrows the time range", func(t *testing.T) {
		// The last 24 hours in bars of 5 minutes; the entries are in the
		// last few bars. Drag from the first bar with entries to the last.
		browsertest.Eventually(t, ctx, `document.getElementById("chart-status").textContent.includes("bars of 5m") &&
			document.querySelectorAll("#chart g.bucket").length >= 288`, 20*time.Second, "24 hours in bars of 5 minutes")
		bars := `[...document.querySelectorAll("#chart g.bucket")]`
		first := browsertest.Eval[int](t, ctx, bars+`.findIndex(g => g.querySelector("rect[class^=bar-]:not(.bar-hit)"))`)
		last := browsertest.Eval[int](t, ctx, bars+`.findLastIndex(g => g.querySelector("rect[class^=bar-]:not(.bar-hit)"))`)
		require.GreaterOrEqual(t, first, 0)
		x := func(i int) float64 {
			return browsertest.Eval[float64](t, ctx, fmt.Sprintf(`(() => { const r = %s[%d].querySelector(".bar-hit").getBoundingClientRect(); return r.left + r.width / 2; })()`, bars, i))
		}
		y := browsertest.Eval[float64](t, ctx, `(() => { const r = document.querySelector("#chart svg").getBoundingClientRect(); return r.top + r.height / 2; })()`)
		x0, x1 := x(first), x(last)
		left := func(p *input.DispatchMouseEventParams) {
			p.Button, p.Buttons, p.ClickCount = input.MouseButtonLeft, 1, 1
		}
		require.NoError(t, chromedp.Do(ctx,
			chromedp.MouseEvent(chromedp.MouseMoved, x0, y),
			chromedp.MouseEvent(chromedp.MousePressed, x0, y, left),
			chromedp.MouseEvent(chromedp.MouseMoved, (x0+x1)/2, y, left),
			chromedp.MouseEvent(chromedp.MouseMoved, x1, y, left),
			chromedp.MouseEvent(chromedp.MouseReleased, x1, y, left),
		))
		browsertest.Eventually(t, ctx, `location.search.includes("range=custom") && document.getElementById("chart-status").textContent.includes("bars of 1m")`,
			20*time.Second, "a custom range in bars of a minute")
		q, err := url.ParseQuery(strings.TrimPrefix(browsertest.Eval[string](t, ctx, `location.search`), "?"))
		require.NoError(t, err)
		from, err := time.Parse(time.RFC3339Nano, q.Get("from"))
		require.NoError(t, err)
		to, err := time.Parse(time.RFC3339Nano, q.Get("to"))
		require.NoError(t, err)
		assert.Zero(t, from.Sub(from.Truncate(5*time.Minute)), "from the start of a bar")
		assert.Equal(t, time.Microsecond, to.Truncate(5*time.Minute).Add(5*time.Minute).Sub(to), "to the end of a bar")
		browsertest.Eventually(t, ctx, `document.getElementById("total").textContent === "131 entries"`, 20*time.Second,
			"every entry is in the bars dragged across")
		assert.Equal(t, "custom", browsertest.Eval[string](t, ctx, `document.getElementById("f-range").value`))

		// The keyboard: the last three minutes with entries, Enter.
		n := browsertest.Eval[int](t, ctx, bars+`.length`)
		k := browsertest.Eval[int](t, ctx, bars+`.findLastIndex(g => g.querySelector("rect[class^=bar-]:not(.bar-hit)"))`)
		require.GreaterOrEqual(t, k, 2)
		browsertest.Eval[bool](t, ctx, `document.querySelector("#chart svg").focus(); true`)
		keys := []chromedp.Action[chromedp.Void]{chromedp.KeyEvent(kb.ArrowLeft)}
		for range n - 1 - k {
			keys = append(keys, chromedp.KeyEvent(kb.ArrowLeft))
		}
		shift := chromedp.KeyModifiers(chromedp.ModifierShift)
		keys = append(keys, chromedp.KeyEvent(kb.ArrowLeft, shift), chromedp.KeyEvent(kb.ArrowLeft, shift), chromedp.KeyEvent(kb.Enter))
		require.NoError(t, chromedp.Do(ctx, keys...))
		browsertest.Eventually(t, ctx, `document.getElementById("chart-status").textContent.includes("in 3 bars of 1m")`, 20*time.Second, "three bars of a minute")
		q, err = url.ParseQuery(strings.TrimPrefix(browsertest.Eval[string](t, ctx, `location.search`), "?"))
		require.NoError(t, err)
		from, err = time.Parse(time.RFC3339Nano, q.Get("from"))
		require.NoError(t, err)
		to, err = time.Parse(time.RFC3339Nano, q.Get("to"))
		require.NoError(t, err)
		assert.Equal(t, 3*time.Minute-time.Microsecond, to.Sub(from))
		_, want := listAll(t, d.URL, tok, "acme", url.Values{"startDate": {q.Get("from")}, "endDate": {q.Get("to")}})
		require.NotZero(t, want)
		browsertest.Eventually(t, ctx, fmt.Sprintf(`document.getElementById("total").textContent === "%d entries"`, want), 20*time.Second,
			"the total of the three minutes")
	})

	// Back to everything for the export and the tail.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(d.URL+"/")))
	browsertest.Eventually(t, ctx, `document.getElementById("total").textContent === "131 entries"`, 20*time.Second, "everything")

	t.Run("export", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true)})
			return err
		})))
		progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
		browsertest.Eval[bool](t, ctx, `document.getElementById("export-format").value = "csv";
			document.getElementById("export").click(); true`)
		browsertest.Eventually(t, ctx, `!!document.getElementById("download")`, 30*time.Second, "the download link")
		status := browsertest.Eval[string](t, ctx, `document.getElementById("export-status").textContent`)
		assert.Contains(t, status, "Export ready: 131 records")
		screenshot(t, ctx, "export")
		browsertest.Eval[bool](t, ctx, `document.getElementById("download").click(); true`)
		var file string
		for ev, err := range progress {
			require.NoError(t, err)
			if ev.State == browser.DownloadProgressStateCanceled {
				t.Fatal("the download was canceled")
			}
			if ev.State == browser.DownloadProgressStateCompleted {
				file = filepath.Join(dir, ev.GUID)
				break
			}
		}
		f, err := os.Open(file)
		require.NoError(t, err)
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 132, "a header and every entry")
		assert.Equal(t, []string{"id", "tenantId", "level", "source", "message", "metadata", "createdAt"}, rows[0])
		for i, r := range rows[1:] {
			assert.Equal(t, all[i].ID, r[0])
			assert.Equal(t, "acme", r[1])
		}
	})

	t.Run("live tail", func(t *testing.T) {
		ingest := func(base string, msgs ...string) {
			t.Helper()
			var ls []string
			for _, m := range msgs {
				ls = append(ls, fmt.Sprintf(`{"level":"info","source":"tail","message":%q}`, m))
			}
			status, body := call(t, http.MethodPost, base+"/api/v1/logs", tok, "acme", `{"logs":[`+strings.Join(ls, ",")+`]}`)
			require.Equal(t, http.StatusCreated, status, body)
		}
		browsertest.Eval[bool](t, ctx, `document.getElementById("tail").click(); true`)
		browsertest.Eventually(t, ctx, `document.getElementById("tail-status").textContent.startsWith("Live")`, 20*time.Second, "the tail is live")
		ingest(d.URL, "tail one")
		browsertest.Eventually(t, ctx, rowMessages+`[0] === "tail one"`, 20*time.Second, "the entry on top")

		// Paused: entries are counted, not shown; resumed: shown in order.
		browsertest.Eval[bool](t, ctx, `document.getElementById("pause").click(); true`)
		ingest(d.URL, "tail two", "tail three")
		browsertest.Eventually(t, ctx, `document.getElementById("tail-status").textContent.includes("2 new entries waiting")`, 20*time.Second, "the paused counter")
		assert.Equal(t, "tail one", browsertest.Eval[[]string](t, ctx, rowMessages)[0])
		browsertest.Eval[bool](t, ctx, `document.getElementById("pause").click(); true`)
		browsertest.Eventually(t, ctx, rowMessages+`[0] === "tail three"`, 10*time.Second, "the waiting entries")
		assert.Equal(t, []string{"tail three", "tail two", "tail one"}, browsertest.Eval[[]string](t, ctx, rowMessages)[:3])
		screenshot(t, ctx, "tail")

		// logsd restarts: the tail resumes after the last entry it had,
		// with what was written while it reconnected.
		require.NoError(t, d.Close())
		browsertest.Eventually(t, ctx, `!document.getElementById("tail-status").textContent.startsWith("Live")`, 20*time.Second,
			"the tail notices the restart")
		d = start(outer, env, "--addr", addr) // lives as long as the whole test
		ingest(d.URL, "after 1", "after 2", "after 3")
		browsertest.Eventually(t, ctx, rowMessages+`[0] === "after 3"`, 60*time.Second, "the entries after the restart")
		got := browsertest.Eval[[]string](t, ctx, rowMessages)
		assert.Equal(t, []string{"after 3", "after 2", "after 1", "tail three", "tail two", "tail one"}, got[:6], "no gap, nothing twice")
		assert.Equal(t, all[0].Message, got[6], "then the page it started on")
		browsertest.Eval[bool](t, ctx, `document.getElementById("tail").click(); true`)
		assert.Equal(t, "false", browsertest.Eval[string](t, ctx, `document.getElementById("tail").getAttribute("aria-pressed")`))
	})

	t.Run("phone width", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2))))
		require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
		browsertest.Eventually(t, ctx, `document.getElementById("total").textContent.endsWith(" entries")`, 20*time.Second, "the view")
		assert.True(t, browsertest.Eval[bool](t, ctx, `document.documentElement.scrollWidth <= window.innerWidth`),
			"nothing wider than the screen: %d > %d", browsertest.Eval[int](t, ctx, `document.documentElement.scrollWidth`),
			browsertest.Eval[int](t, ctx, `window.innerWidth`))
		screenshot(t, ctx, "phone")
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)))
	})

	t.Run("never another tenant, never the token in a URL or a log", func(t *testing.T) {
		assert.NotContains(t, browsertest.Eval[string](t, ctx, `document.body.innerText`), "globex")
		assert.Equal(t, tok, browsertest.Eval[string](t, ctx, `sessionStorage.getItem("logs.console.token")`))
		assert.Zero(t, browsertest.Eval[int](t, ctx, `localStorage.length`))
		urls := browsertest.Eval[[]string](t, ctx, `performance.getEntriesByType("resource").map(e => e.name).concat([location.href])`)
		require.NotEmpty(t, urls)
		for _, u := range urls {
			assert.NotContains(t, u, tok)
		}
		assert.NotContains(t, d.log.String(), tok)
		assert.NotContains(t, d.out.String(), tok)

		// Signing out forgets the token.
		browsertest.Eval[bool](t, ctx, `document.getElementById("signout").click(); true`)
		browsertest.Eventually(t, ctx, `!document.getElementById("signin").hidden`, 10*time.Second, "the sign-in")
		assert.Equal(t, "", browsertest.Eval[string](t, ctx, `sessionStorage.getItem("logs.console.token") || ""`))
	})
}

// TestConsoleHeaders: the console's files and their headers, its strict
// Content-Security-Policy enforced by the browser, and --console=false.
func TestConsoleHeaders(t *testing.T) {
	env := map[string]string{"LOGSD_DATA_DIR": t.TempDir()}
	d := start(t, env)
	get := func(method, path string, header http.Header) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, d.URL+path, nil)
		require.NoError(t, err)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}
	resp, page := get(http.MethodGet, "/?level=error&range=1h", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, logconsole.ContentSecurityPolicy, resp.Header.Get("Content-Security-Policy"))
	assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	assert.Contains(t, page, `<script type="module" src="/console/app.js">`)
	assert.NotRegexp(t, regexp.MustCompile(`<script(?:\s+type="module")?>`), page, "no inline script")
	assert.NotRegexp(t, regexp.MustCompile(`\s(style|on[a-z]+)=`), page, "no inline style or handler")
	assert.NotRegexp(t, regexp.MustCompile(`(?i)(src|href)="(https?:)?//`), page, "nothing from another origin")

	for _, f := range []string{"app.js", "api.js", "filter.js", "table.js", "chart.js", "tail.js"} {
		resp, js := get(http.MethodGet, logconsole.Prefix+f, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, f)
		assert.Equal(t, "text/javascript; charset=utf-8", resp.Header.Get("Content-Type"), f)
		assert.NotContains(t, js, "innerHTML", "%s writes text, never HTML", f)
		assert.NotContains(t, js, "insertAdjacentHTML", f)
		assert.NotRegexp(t, regexp.MustCompile(`https?://`), strings.ReplaceAll(js, `"http://www.w3.org/2000/svg"`, ""),
			"%s calls nothing but its origin (the SVG namespace aside)", f)
		etag := resp.Header.Get("ETag")
		require.NotEmpty(t, etag)
		resp, _ = get(http.MethodGet, logconsole.Prefix+f, http.Header{"If-None-Match": {etag}})
		assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	}
	resp, css := get(http.MethodGet, logconsole.Prefix+"console.css", nil)
	assert.Equal(t, "text/css; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.NotContains(t, css, "@import")
	assert.NotContains(t, css, "url(http")

	resp, body := get(http.MethodHead, "/", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, body)
	for _, p := range []string{"/console/nope.js", "/console/index.html", "/console/../go.mod", "/index.html"} {
		resp, _ := get(http.MethodGet, p, nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, p)
	}
	resp, body = get(http.MethodGet, "/?access_token=x", nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "a token is refused in every URL, the console's too")
	assert.Contains(t, body, `"field":"access_token"`)
	resp, body = get(http.MethodPost, "/", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
	assert.Contains(t, body, `"success":false`)

	t.Run("the browser enforces the policy", func(t *testing.T) {
		ctx := browsertest.New(t)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(d.URL+"/")))
		browsertest.Eventually(t, ctx, `!document.getElementById("signin").hidden`, 20*time.Second, "the page runs its own module")
		browsertest.Eval[bool](t, ctx, `window.violations = [];
			document.addEventListener("securitypolicyviolation", (e) => window.violations.push(e.violatedDirective));
			const s = document.createElement("script"); s.textContent = "window.inlineRan = true"; document.body.append(s);
			const i = document.createElement("img"); i.setAttribute("onerror", "window.handlerRan = true"); i.src = "data:,x"; document.body.append(i);
			const x = document.createElement("script"); x.src = "https://example.com/x.js"; document.body.append(x);
			true`)
		browsertest.Eventually(t, ctx, `window.violations.length >= 3`, 10*time.Second, "three violations reported")
		v := browsertest.Eval[[]string](t, ctx, `window.violations`)
		assert.True(t, slices.ContainsFunc(v, func(s string) bool { return strings.HasPrefix(s, "script-src") }), "%v", v)
		assert.True(t, browsertest.Eval[bool](t, ctx, `window.inlineRan === undefined && window.handlerRan === undefined`))
	})

	t.Run("off", func(t *testing.T) {
		require.NoError(t, d.Close())
		d2 := start(t, env, "--console=false")
		resp, err := http.Get(d2.URL + "/")
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		assert.NotContains(t, d2.out.String(), "open the console")
	})
}
