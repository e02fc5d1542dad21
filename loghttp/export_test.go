package loghttp_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/fileblob"

	"github.com/ithbat/logs/logexport"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/loghttp/jwtauth"
	"github.com/ithbat/logs/logstore/bunstore"
)

// exportEnv is a Server with an Exporter over a file bucket whose download
// URLs point at the server itself.
type exportEnv struct {
	*env
	exp    *logexport.Exporter
	bucket *blob.Bucket
	signer *fileblob.URLSignerHMAC
}

func newExportEnv(tb testing.TB, st *bunstore.Store, xo *logexport.Options) *exportEnv {
	tb.Helper()
	ctx := context.Background()
	srv := httptest.NewUnstartedServer(nil)
	signer, err := logexport.NewFileSigner("http://"+srv.Listener.Addr().String(), []byte("export-url-secret-0123456789"))
	require.NoError(tb, err)
	bucket, err := logexport.OpenBucket(ctx, "file://"+tb.TempDir())
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = bucket.Close() })
	o := logexport.Options{Poll: 50 * time.Millisecond}
	if xo != nil {
		o = *xo
	}
	o.Signer = signer
	o.Logger = slog.New(slog.DiscardHandler)
	x, err := logexport.New(st, st, bucket, &o)
	require.NoError(tb, err)
	require.NoError(tb, x.Start())
	tb.Cleanup(func() { _ = x.Close() })

	v, err := jwtauth.New(&jwtauth.Options{Secret: secret, Issuer: issuer, Audience: audience})
	require.NoError(tb, err)
	e := &env{Store: st, Logs: &logBuffer{}}
	srv.Config.Handler = loghttp.New(st, &loghttp.Options{
		Authenticator: v, Export: x,
		Logger: slog.New(slog.NewJSONHandler(e.Logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	srv.Start()
	tb.Cleanup(srv.Close)
	e.URL = srv.URL
	return &exportEnv{env: e, exp: x, bucket: bucket, signer: signer}
}

// exportData is the data of the export endpoints.
type exportData struct {
	ExportID         string  `json:"exportId"`
	Status           string  `json:"status"`
	Format           string  `json:"format"`
	EstimatedRecords int64   `json:"estimatedRecords"`
	DownloadURL      *string `json:"downloadUrl"`
	ExpiresAt        *string `json:"expiresAt"`
	CreatedAt        string  `json:"createdAt"`
	Error            string  `json:"error"`
}

func (e *exportEnv) submit(tb testing.TB, tenant, body string) (*resp, exportData) {
	tb.Helper()
	r := e.do(tb, req{method: http.MethodPost, path: "/api/v1/logs/export", token: token(tb, tenant, loghttp.PermRead),
		tenant: tenant, body: strings.NewReader(body), header: http.Header{"Content-Type": {"application/json"}}})
	var d exportData
	r.data(tb, http.StatusAccepted, &d)
	return r, d
}

func (e *exportEnv) poll(tb testing.TB, tenant, id string) exportData {
	tb.Helper()
	var d exportData
	require.Eventually(tb, func() bool {
		d = exportData{}
		e.do(tb, req{path: "/api/v1/logs/export/" + id, token: token(tb, tenant, loghttp.PermRead), tenant: tenant}).
			data(tb, http.StatusOK, &d)
		return d.Status != "processing"
	}, 30*time.Second, 25*time.Millisecond, "export %s still processing", id)
	return d
}

// fetch GETs a download URL as a browser would: no token, no tenant.
func fetch(tb testing.TB, u string) (*http.Response, []byte) {
	tb.Helper()
	r, err := http.Get(u)
	require.NoError(tb, err)
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	require.NoError(tb, err)
	return r, b
}

func seedExport(tb testing.TB, e *exportEnv, tenant string, n int) {
	tb.Helper()
	levels := []string{"info", "warn", "error"}
	var sb strings.Builder
	sb.WriteString(`{"logs":[`)
	for i := range n {
		if i > 0 {
			sb.WriteString(",")
		}
		msg := fmt.Sprintf("event %d, with \"quotes\"", i)
		if i%7 == 0 {
			msg = fmt.Sprintf("=HYPERLINK(\"http://x\") %d", i)
		}
		b, _ := json.Marshal(map[string]any{"level": levels[i%3], "source": "auth", "message": msg,
			"metadata":  map[string]any{"i": i, "ip": "41.128.200.15"},
			"createdAt": time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC).Add(-time.Duration(i) * time.Minute).Format(time.RFC3339)})
		sb.Write(b)
	}
	sb.WriteString("]}")
	e.ingest(tb, tenant, sb.String())
}

func TestExportEndToEnd(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newExportEnv(t, st, nil)
		seedExport(t, e, "tenant-a", 120)
		seedExport(t, e, "tenant-b", 30)
		const query = "level=error&startDate=2026-03-17&endDate=2026-03-18T11:00:00Z&limit=500"

		for _, format := range []string{"csv", "json"} {
			t.Run(format, func(t *testing.T) {
				want := e.list(t, "tenant-a", query)
				require.NotZero(t, want.Total)
				var listed struct {
					Logs []json.RawMessage `json:"logs"`
				}
				require.NoError(t, json.Unmarshal(e.do(t, req{path: "/api/v1/logs?" + query,
					token: token(t, "tenant-a", loghttp.PermRead), tenant: "tenant-a"}).Env.Data, &listed))
				r, d := e.submit(t, "tenant-a", `{"format":"`+format+`","level":"error","startDate":"2026-03-17","endDate":"2026-03-18T11:00:00Z"}`)
				// The spec's body, exactly: these keys, nulls included.
				var raw map[string]any
				require.NoError(t, json.Unmarshal(r.Env.Data, &raw))
				assert.Len(t, raw, 8, "%s", r.Env.Data)
				assert.EqualValues(t, 0, raw["exportedRecords"], "nothing written yet")
				for _, k := range []string{"downloadUrl", "expiresAt"} {
					v, ok := raw[k]
					assert.True(t, ok && v == nil, "%s is null: %s", k, r.Env.Data)
				}
				assert.Regexp(t, `^exp-[0-9a-f-]{36}$`, d.ExportID)
				assert.Equal(t, "processing", d.Status)
				assert.Equal(t, format, d.Format)
				assert.Equal(t, want.Total, d.EstimatedRecords)
				created, err := time.Parse(time.RFC3339Nano, d.CreatedAt)
				require.NoError(t, err)
				assert.WithinDuration(t, time.Now(), created, time.Minute)
				assert.Equal(t, "/api/v1/logs/export/"+d.ExportID, r.Header.Get("Location"))

				// Appended after submission; matches the filter, and would
				// be the first entry.
				e.ingest(t, "tenant-a", `{"level":"error","source":"auth","message":"late","createdAt":"2026-03-18T10:59:59Z"}`)

				ready := e.poll(t, "tenant-a", d.ExportID)
				require.Equal(t, "ready", ready.Status, ready.Error)
				require.NotNil(t, ready.DownloadURL)
				require.NotNil(t, ready.ExpiresAt)
				exp, err := time.Parse(time.RFC3339, *ready.ExpiresAt)
				require.NoError(t, err)
				assert.WithinDuration(t, time.Now().Add(time.Hour), exp, 5*time.Second)
				assert.Equal(t, d.CreatedAt, ready.CreatedAt)
				assert.Equal(t, d.EstimatedRecords, ready.EstimatedRecords)

				hr, body := fetch(t, *ready.DownloadURL)
				require.Equal(t, http.StatusOK, hr.StatusCode, "%s", body)
				assert.Contains(t, hr.Header.Get("Content-Disposition"), d.ExportID+"."+format)
				var ids []string
				if format == "csv" {
					assert.Equal(t, "text/csv; charset=utf-8", hr.Header.Get("Content-Type"))
					rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
					require.NoError(t, err)
					assert.Equal(t, []string{"id", "tenantId", "level", "source", "message", "metadata", "createdAt"}, rows[0])
					for i, row := range rows[1:] {
						ids = append(ids, row[0])
						msg := want.Logs[i].Message
						if strings.HasPrefix(msg, "=") {
							msg = "'" + msg
						}
						assert.Equal(t, msg, row[4])
						assert.Equal(t, want.Logs[i].CreatedAt, row[6])
					}
				} else {
					assert.Equal(t, "application/json", hr.Header.Get("Content-Type"))
					var got []json.RawMessage
					require.NoError(t, json.Unmarshal(body, &got))
					// The file holds the entries exactly as the list showed
					// them at submission.
					require.Equal(t, len(listed.Logs), len(got))
					for i := range got {
						assert.Equal(t, string(listed.Logs[i]), string(got[i]))
						var x struct{ ID string }
						require.NoError(t, json.Unmarshal(got[i], &x))
						ids = append(ids, x.ID)
					}
				}
				wantIDs := []string{}
				for _, l := range want.Logs {
					wantIDs = append(wantIDs, l.ID)
				}
				assert.Equal(t, wantIDs, ids, "the entries of the list, in its order, without the late one")
			})
		}
	})
}

func TestExportValidation(t *testing.T) {
	e := newExportEnv(t, openStore(t, "sqlite"), nil)
	tok := token(t, "tenant-a", loghttp.PermRead)
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		code, field string
	}{
		{"no format", `{"level":"error"}`, "", 400, "invalid_argument", "format"},
		{"bad format", `{"format":"xlsx"}`, "", 400, "invalid_argument", "format"},
		{"format not a string", `{"format":1}`, "", 400, "invalid_argument", "format"},
		{"unknown field", `{"format":"csv","page":2}`, "", 400, "invalid_argument", "page"},
		{"bad level", `{"format":"csv","level":"fatal"}`, "", 400, "invalid_argument", "level"},
		{"bad startDate", `{"format":"csv","startDate":"yesterday"}`, "", 400, "invalid_argument", "startDate"},
		{"bad endDate", `{"format":"csv","endDate":"2026-13-01"}`, "", 400, "invalid_argument", "endDate"},
		{"start after end", `{"format":"csv","startDate":"2026-03-19","endDate":"2026-03-01"}`, "", 400, "invalid_argument", "startDate"},
		{"long search", `{"format":"csv","search":"` + strings.Repeat("x", 600) + `"}`, "", 400, "invalid_argument", "search"},
		{"not JSON", `format=csv`, "", 400, "invalid_argument", ""},
		{"array", `[{"format":"csv"}]`, "", 400, "invalid_argument", ""},
		{"null", `null`, "", 400, "invalid_argument", ""},
		{"two objects", `{"format":"csv"}{"format":"json"}`, "", 400, "invalid_argument", ""},
		{"empty body", ``, "", 400, "invalid_argument", ""},
		{"wrong content type", `{"format":"csv"}`, "text/plain", 400, "invalid_argument", "Content-Type"},
		{"too large", `{"format":"csv","search":"` + strings.Repeat(" ", 70<<10) + `"}`, "", 413, "payload_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.contentType != "" {
				h.Set("Content-Type", tt.contentType)
			}
			e.do(t, req{method: http.MethodPost, path: "/api/v1/logs/export", token: tok, tenant: "tenant-a",
				body: strings.NewReader(tt.body), header: h}).requireError(t, tt.status, tt.code, tt.field)
		})
	}
	t.Run("null filters are absent", func(t *testing.T) {
		_, d := e.submit(t, "tenant-a", `{"format":"ndjson","level":null}`)
		assert.Equal(t, "ndjson", d.Format)
	})
	t.Run("auth", func(t *testing.T) {
		body := func() io.Reader { return strings.NewReader(`{"format":"csv"}`) }
		e.do(t, req{method: http.MethodPost, path: "/api/v1/logs/export", tenant: "tenant-a", body: body()}).
			requireError(t, 401, "unauthenticated", "")
		e.do(t, req{method: http.MethodPost, path: "/api/v1/logs/export", token: token(t, "tenant-a", loghttp.PermWrite),
			tenant: "tenant-a", body: body()}).requireError(t, 403, "permission_denied", "")
		e.do(t, req{method: http.MethodPost, path: "/api/v1/logs/export", token: tok, tenant: "tenant-b", body: body()}).
			requireError(t, 403, "permission_denied", "X-Tenant-ID")
		e.do(t, req{path: "/api/v1/logs/export/exp-00000000-0000-4000-8000-000000000000", tenant: "tenant-a"}).
			requireError(t, 401, "unauthenticated", "")
		e.do(t, req{method: http.MethodDelete, path: "/api/v1/logs/export/exp-x", token: tok, tenant: "tenant-a"}).
			requireError(t, 405, "method_not_allowed", "")
	})
}

func TestExportTenantIsolation(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newExportEnv(t, st, nil)
		_, d := e.submit(t, "tenant-a", `{"format":"csv"}`)
		get := func(tenant, id string) *resp {
			return e.do(t, req{path: "/api/v1/logs/export/" + id, token: token(t, tenant, loghttp.PermRead), tenant: tenant})
		}
		require.Equal(t, http.StatusOK, get("tenant-a", d.ExportID).Status)

		other := get("tenant-b", d.ExportID)
		unknown := get("tenant-b", "exp-00000000-0000-4000-8000-000000000000")
		other.requireError(t, 404, "not_found", "")
		unknown.requireError(t, 404, "not_found", "")
		assert.Equal(t, unknown.Env.Error, other.Env.Error, "another tenant's export looks like an unknown one")
		for _, id := range []string{"nope", "exp-", url.PathEscape("exp-' OR '1'='1"), "exp-" + strings.Repeat("f", 3000), "EXP-" + d.ExportID[4:]} {
			get("tenant-a", id).requireError(t, 404, "not_found", "")
		}
		assert.NotContains(t, e.Logs.String(), `"level":"ERROR"`, "no server error")
	})
}

func TestExportDownloadRefused(t *testing.T) {
	e := newExportEnv(t, openStore(t, "sqlite"), &logexport.Options{Poll: 50 * time.Millisecond, Retention: 2 * time.Second})
	seedExport(t, e, "tenant-a", 10)
	seedExport(t, e, "tenant-b", 10)
	_, da := e.submit(t, "tenant-a", `{"format":"json"}`)
	_, db := e.submit(t, "tenant-b", `{"format":"json"}`)
	ra := e.poll(t, "tenant-a", da.ExportID)
	rb := e.poll(t, "tenant-b", db.ExportID)
	require.Equal(t, "ready", ra.Status)
	require.Equal(t, "ready", rb.Status)
	hr, _ := fetch(t, *ra.DownloadURL)
	require.Equal(t, http.StatusOK, hr.StatusCode)

	good, err := url.Parse(*ra.DownloadURL)
	require.NoError(t, err)
	bURL, err := url.Parse(*rb.DownloadURL)
	require.NoError(t, err)
	set := func(k, v string) string {
		u := *good
		q := u.Query()
		q.Set(k, v)
		u.RawQuery = q.Encode()
		return u.String()
	}
	expired, err := e.signer.URLFromKey(context.Background(), good.Query().Get("obj"), &driver.SignedURLOptions{Expiry: -time.Second, Method: http.MethodGet})
	require.NoError(t, err)
	for name, u := range map[string]string{
		"other tenant's object": set("obj", bURL.Query().Get("obj")),
		"tampered signature":    set("signature", strings.Repeat("A", len(good.Query().Get("signature")))),
		"extended expiry":       set("expiry", fmt.Sprint(time.Now().Add(48*time.Hour).Unix())),
		"expired":               expired.String(),
		"no query":              e.URL + logexport.DownloadPath,
	} {
		t.Run(name, func(t *testing.T) {
			hr, body := fetch(t, u)
			assert.Equal(t, http.StatusForbidden, hr.StatusCode, "%s", body)
			assert.Contains(t, string(body), `"code":"permission_denied"`)
			assert.NotContains(t, string(body), "tenant-b")
		})
	}

	// After the retention the job reports expired and the old link finds
	// no file.
	require.Eventually(t, func() bool {
		var d exportData
		e.do(t, req{path: "/api/v1/logs/export/" + da.ExportID, token: token(t, "tenant-a", loghttp.PermRead), tenant: "tenant-a"}).
			data(t, http.StatusOK, &d)
		return d.Status == "expired" && d.DownloadURL == nil
	}, 20*time.Second, 50*time.Millisecond)
	// The link of the poll expires with the file (its expiry is at most
	// the file's, in whole seconds): whether it is refused as expired (403)
	// or finds no file (404) depends on which comes first. A link signed
	// for longer shows that the file is gone.
	long, err := e.signer.URLFromKey(context.Background(), good.Query().Get("obj"), &driver.SignedURLOptions{Expiry: time.Hour, Method: http.MethodGet})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		hr, _ := fetch(t, long.String())
		return hr.StatusCode == http.StatusNotFound
	}, 20*time.Second, 50*time.Millisecond)
	hr, _ = fetch(t, *ra.DownloadURL)
	assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, hr.StatusCode)
}
