package loghttp_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/loghttp"
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
