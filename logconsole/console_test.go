package logconsole_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/browsertest"
	"github.com/ithbat/logs/logconsole"
)

// TestRangeKeepsMicroseconds: the time range of the page's URL reaches the
// API as written, to the microsecond (the stores' precision), and a search
// that does not touch the range keeps it so. A Date holds milliseconds
// only: a chart range ending at ...59.999999Z sent as ...59.999Z, or as
// the form's whole second, would leave the entries of its last
// millisecond (or second) out of the list that the chart counted them in.
func TestRangeKeepsMicroseconds(t *testing.T) {
	srv := httptest.NewServer(logconsole.Handler()) // the console alone: its API calls fail, its URL is what is tested
	t.Cleanup(srv.Close)
	ctx := browsertest.New(t)
	const from, to = "2026-12-01T10:00:00.000500Z", "2026-12-01T10:59:59.999999Z"
	q := url.Values{"range": {"custom"}, "from": {from}, "to": {to}}.Encode()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?"+q)))

	params := browsertest.Eval[map[string]string](t, ctx,
		`import("/console/filter.js").then(m => m.params(m.fromURL(location.search)))`)
	assert.Equal(t, map[string]string{"startDate": from, "endDate": to}, params, "the API's parameters")
	local := browsertest.Eval[map[string]string](t, ctx,
		`import("/console/filter.js").then(m => m.params(m.fromURL("?range=custom&from=2026-12-01T10:00")))`)
	assert.Equal(t, map[string]string{"startDate": browsertest.Eval[string](t, ctx, `new Date("2026-12-01T10:00").toISOString()`)}, local,
		"a time without offset is the browser's zone, sent in UTC")

	// Signed in (a token the server would check; here only its claims are
	// read), another level, the range untouched: the URL keeps its bounds.
	claims := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"tenant_id":"acme","exp":%d}`, time.Now().Add(time.Hour).Unix())))
	tok := "eyJhbGciOiJIUzI1NiJ9." + claims + ".c2ln"
	browsertest.Eval[bool](t, ctx, `sessionStorage.setItem("logs.console.token", "`+tok+`"); true`)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?"+q)))
	browsertest.Eventually(t, ctx, `!document.getElementById("app").hidden`, 20*time.Second, "the search view")
	browsertest.Eval[bool](t, ctx, `document.getElementById("f-level").value = "error";
		document.getElementById("apply").click(); true`)
	browsertest.Eventually(t, ctx, `location.search.includes("level=error")`, 10*time.Second, "the new search")
	got, err := url.ParseQuery(browsertest.Eval[string](t, ctx, `location.search.slice(1)`))
	require.NoError(t, err)
	assert.Equal(t, from, got.Get("from"))
	assert.Equal(t, to, got.Get("to"))
}

// TestSignInOddTenant: a token whose tenant_id no X-Tenant-ID header can
// carry (the browser refuses to send it) is refused at sign-in in words
// that say so, not as a server that cannot be reached.
func TestSignInOddTenant(t *testing.T) {
	srv := httptest.NewServer(logconsole.Handler())
	t.Cleanup(srv.Close)
	ctx := browsertest.New(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")))
	browsertest.Eventually(t, ctx, `!document.getElementById("signin").hidden`, 20*time.Second, "the sign-in")
	for _, tenant := range []string{"日本", "acme\n", "a b", "<b>x</b>"} {
		t.Run(tenant, func(t *testing.T) {
			claims, err := json.Marshal(map[string]any{"tenant_id": tenant, "exp": time.Now().Add(time.Hour).Unix()})
			require.NoError(t, err)
			tok := "eyJhbGciOiJIUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(claims) + ".c2ln"
			js, _ := json.Marshal(tok)
			browsertest.Eval[bool](t, ctx, `document.getElementById("signin-error").textContent = "";
				document.getElementById("token").value = `+string(js)+`;
				document.querySelector("#signin-form button[type=submit]").click(); true`)
			browsertest.Eventually(t, ctx, `document.getElementById("signin-error").textContent.includes("tenant_id")`, 10*time.Second,
				"words on the tenant")
			assert.True(t, browsertest.Eval[bool](t, ctx, `document.getElementById("app").hidden`))
			assert.Equal(t, "", browsertest.Eval[string](t, ctx, `sessionStorage.getItem("logs.console.token") || ""`))
		})
	}
}
