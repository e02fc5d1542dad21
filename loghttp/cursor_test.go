package loghttp_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore/bunstore"
)

// cursorList is the data of GET /api/v1/logs with its nextCursor.
type cursorList struct {
	list
	NextCursor *string `json:"nextCursor"`
}

// TestCursorPaging: every list answer carries nextCursor; following it
// gives exactly the pages by number (ties included) and ends with null; a
// cursor is bound to its tenant, filter and limit, and refused altered or
// beside page.
func TestCursorPaging(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newEnv(t, st, nil)
		var lines []string
		for i := range 230 {
			// Pairs share a createdAt: ties are broken by id.
			lines = append(lines, fmt.Sprintf(`{"level":"%s","source":"auth","message":"m%03d","createdAt":"2026-11-20T10:%02d:%02dZ"}`,
				[]string{"info", "error"}[i%2], i, (i/2)/60, (i/2)%60))
		}
		e.ingest(t, "acme", `{"logs":[`+strings.Join(lines, ",")+`]}`)
		e.ingest(t, "globex", `{"logs":[`+strings.Join(lines[:10], ",")+`]}`)
		tok := token(t, "acme", loghttp.PermRead)
		get := func(tenant, query string) *resp {
			return e.do(t, req{path: "/api/v1/logs?" + query, token: token(t, tenant, loghttp.PermRead), tenant: tenant})
		}
		for _, filter := range []string{"", "level=error&"} {
			var byCursor []string
			next := ""
			for n := 1; ; n++ {
				q := filter + "limit=50"
				if next != "" {
					q += "&cursor=" + url.QueryEscape(next)
				}
				var l cursorList
				get("acme", q).data(t, http.StatusOK, &l)
				assert.Equal(t, n, l.Page, "the page's number")
				var byPage cursorList
				get("acme", fmt.Sprintf("%slimit=50&page=%d", filter, n)).data(t, http.StatusOK, &byPage)
				require.Equal(t, byPage.messages(), l.messages(), "%s page %d", filter, n)
				assert.Equal(t, byPage.Total, l.Total)
				byCursor = append(byCursor, l.messages()...)
				if l.NextCursor == nil {
					assert.Nil(t, byPage.NextCursor, "null on the last page either way")
					break
				}
				require.NotNil(t, byPage.NextCursor, "a page by number has a cursor too")
				next = *l.NextCursor
				require.Less(t, n, 10)
			}
			var all cursorList
			get("acme", filter+"limit=500").data(t, http.StatusOK, &all)
			assert.Equal(t, all.messages(), byCursor)
			assert.Nil(t, all.NextCursor)
		}

		var first cursorList
		get("acme", "limit=50").data(t, http.StatusOK, &first)
		require.NotNil(t, first.NextCursor)
		c := url.QueryEscape(*first.NextCursor)
		for name, q := range map[string]string{
			"another filter": "limit=50&level=error&cursor=" + c,
			"another limit":  "limit=20&cursor=" + c,
			"altered":        "limit=50&cursor=" + c[:len(c)-2] + "AA",
			"garbage":        "limit=50&cursor=%00%ff",
		} {
			t.Run(name, func(t *testing.T) {
				get("acme", q).requireError(t, http.StatusBadRequest, "invalid_argument", "cursor")
			})
		}
		get("globex", "limit=50&cursor="+c).requireError(t, http.StatusBadRequest, "invalid_argument", "cursor")
		get("acme", "limit=50&page=2&cursor="+c).requireError(t, http.StatusBadRequest, "invalid_argument", "cursor")
		e.do(t, req{path: "/api/v1/logs?limit=50&cursor=" + c + "&cursor=" + c, token: tok, tenant: "acme"}).
			requireError(t, http.StatusBadRequest, "invalid_argument", "cursor")
		// Twice with one of them empty is twice too: not page 1 in silence.
		for _, q := range []string{"cursor=&cursor=" + c, "cursor=" + c + "&cursor=", "cursor=&cursor="} {
			e.do(t, req{path: "/api/v1/logs?limit=50&" + q, token: tok, tenant: "acme"}).
				requireError(t, http.StatusBadRequest, "invalid_argument", "cursor")
		}
	})
}

// TestCursorBeyondMaxPage: a cursor goes on at any depth, also past the
// deepest page a page number may name (MaxPage): a tenant with more entries
// than MaxPage pages of its limit is paged to its end.
func TestCursorBeyondMaxPage(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		cursors, err := logquery.NewCursors([]byte("cursor-test-key-0123456789"))
		require.NoError(t, err)
		e := newEnv(t, st, &envOptions{opts: loghttp.Options{Cursors: cursors}})
		e.ingest(t, "acme", `{"logs":[{"level":"info","source":"a","message":"m1","createdAt":"2026-11-20T10:00:03Z"},
			{"level":"info","source":"a","message":"m2","createdAt":"2026-11-20T10:00:02Z"},
			{"level":"info","source":"a","message":"m3","createdAt":"2026-11-20T10:00:01Z"}]}`)
		tok := token(t, "acme", loghttp.PermRead)
		var first cursorList
		e.do(t, req{path: "/api/v1/logs?limit=1", token: tok, tenant: "acme"}).data(t, http.StatusOK, &first)
		require.Len(t, first.Logs, 1)
		f, err := logquery.ParseValues(url.Values{"limit": {"1"}})
		require.NoError(t, err)
		at, err := time.Parse(time.RFC3339Nano, first.Logs[0].CreatedAt)
		require.NoError(t, err)
		// The cursor of page MaxPage, as the server would have sealed it
		// after MaxPage-1 pages.
		c := cursors.Seal("acme", f, logquery.Position{CreatedAt: at, ID: first.Logs[0].ID}, logquery.MaxPage)
		var deep cursorList
		e.do(t, req{path: "/api/v1/logs?limit=1&cursor=" + url.QueryEscape(c), token: tok, tenant: "acme"}).data(t, http.StatusOK, &deep)
		assert.Equal(t, logquery.MaxPage, deep.Page)
		assert.Equal(t, []string{"m2"}, deep.messages())
		require.NotNil(t, deep.NextCursor)
		var deeper cursorList
		e.do(t, req{path: "/api/v1/logs?limit=1&cursor=" + url.QueryEscape(*deep.NextCursor), token: tok, tenant: "acme"}).data(t, http.StatusOK, &deeper)
		assert.Equal(t, logquery.MaxPage+1, deeper.Page)
		assert.Equal(t, []string{"m3"}, deeper.messages())
		assert.Nil(t, deeper.NextCursor)
	})
}
