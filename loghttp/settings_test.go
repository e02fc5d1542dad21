package loghttp_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore/bunstore"
)

type settingsData struct {
	RetentionDays        *int `json:"retentionDays"`
	Custom               bool `json:"custom"`
	DefaultRetentionDays *int `json:"defaultRetentionDays"`
	MaxRetentionDays     *int `json:"maxRetentionDays"`
}

// TestSettings: a tenant admin reads and sets its own retention; it applies
// to the list at once and to new entries; other tenants keep theirs.
func TestSettings(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			st, err := bunstore.Open(t.Context(), testdb.URL(t, backend), &bunstore.Options{Retention: 90 * 24 * time.Hour, MaxRetention: 365 * 24 * time.Hour})
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			e := newEnv(t, st, &envOptions{opts: loghttp.Options{Settings: st}})
			admin := token(t, "acme", loghttp.PermAdmin)
			settings := func(method, body string) *resp {
				r := req{method: method, path: "/api/v1/logs/settings", token: admin, tenant: "acme"}
				if body != "" {
					r.body, r.header = strings.NewReader(body), http.Header{"Content-Type": {"application/json"}}
				}
				return e.do(t, r)
			}
			var s settingsData
			settings(http.MethodGet, "").data(t, http.StatusOK, &s)
			require.NotNil(t, s.RetentionDays)
			assert.Equal(t, 90, *s.RetentionDays)
			assert.False(t, s.Custom)
			assert.Equal(t, 90, *s.DefaultRetentionDays)
			assert.Equal(t, 365, *s.MaxRetentionDays)

			now := time.Now().UTC()
			at := func(daysAgo int) string {
				return now.Add(-time.Duration(daysAgo) * 24 * time.Hour).Format(time.RFC3339)
			}
			body := fmt.Sprintf(`{"logs":[{"level":"info","source":"a","message":"40 days","createdAt":%q},{"level":"info","source":"a","message":"5 days","createdAt":%q}]}`, at(40), at(5))
			e.ingest(t, "acme", body)
			e.ingest(t, "globex", body)
			assert.EqualValues(t, 2, e.list(t, "acme", "").Total)

			settings(http.MethodPatch, `{"retentionDays":30}`).data(t, http.StatusOK, &s)
			assert.Equal(t, 30, *s.RetentionDays)
			assert.True(t, s.Custom)
			l := e.list(t, "acme", "")
			assert.Equal(t, []string{"5 days"}, l.messages(), "from the moment it applies")
			assert.EqualValues(t, 1, l.Total)
			assert.EqualValues(t, 2, e.list(t, "globex", "").Total, "another tenant keeps its own")
			e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: token(t, "acme", loghttp.PermWrite), tenant: "acme",
				body: strings.NewReader(fmt.Sprintf(`{"level":"info","source":"a","message":"old","createdAt":%q}`, at(31))), header: http.Header{"Content-Type": {"application/json"}}}).
				requireError(t, http.StatusBadRequest, "invalid_argument", "logs[0].createdAt")

			for _, bad := range []string{`{"retentionDays":366}`, `{"retentionDays":0}`, `{"retentionDays":1.5}`, `{"retentionDays":"30"}`, `{"retentionDays":-3}`} {
				settings(http.MethodPatch, bad).requireError(t, http.StatusBadRequest, "invalid_argument", "retentionDays")
			}
			settings(http.MethodPatch, `{"retention":30}`).requireError(t, http.StatusBadRequest, "invalid_argument", "retention")
			settings(http.MethodPatch, `{"retentionDays":30,"retentionDays":31}`).requireError(t, http.StatusBadRequest, "invalid_argument", "retentionDays")
			e.do(t, req{path: "/api/v1/logs/settings", token: token(t, "acme", loghttp.PermRead, loghttp.PermWrite), tenant: "acme"}).
				requireError(t, http.StatusForbidden, "permission_denied", "")
			e.do(t, req{path: "/api/v1/logs/settings", token: admin, tenant: "globex"}).requireError(t, http.StatusForbidden, "permission_denied", "X-Tenant-ID")

			settings(http.MethodPatch, `{"retentionDays":null}`).data(t, http.StatusOK, &s)
			assert.Equal(t, 90, *s.RetentionDays)
			assert.False(t, s.Custom)
			assert.EqualValues(t, 2, e.list(t, "acme", "").Total, "back to the default: nothing was purged yet")
		})
	}
}
