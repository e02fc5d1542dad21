package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/ithbat/logs/internal/openapitest"
)

func get(tb testing.TB, url string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(tb, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	openapitest.Check(tb, req, resp.StatusCode, resp.Header, b)
	return resp.StatusCode, string(b)
}

// TestOperations runs a real logsd: it is ready, an OpenTelemetry SDK's
// OTLP/HTTP exporter pointed at it lands entries in the list, and /metrics
// shows the ingest, the consumers' lag and the retention runs.
func TestOperations(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			env := databaseEnv(t, backend)
			env["LOGSD_DATA_DIR"] = t.TempDir()
			d := start(t, env)
			tok, err := run(t, env, "token", "--tenant", "acme", "--permissions", "log:read,log:write")
			require.NoError(t, err)
			tok = strings.TrimSpace(tok)

			status, body := get(t, d.URL+"/readyz")
			require.Equal(t, 200, status, body)
			assert.JSONEq(t, `{"success":true,"data":{"status":"ok","checks":{"database":"ok","schema":"ok","blob":"ok"}}}`, body)

			ctx := t.Context()
			exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpointURL(d.URL+"/otlp/v1/logs"),
				otlploghttp.WithHeaders(map[string]string{"Authorization": "Bearer " + tok, "X-Tenant-ID": "acme"}))
			require.NoError(t, err)
			provider := sdklog.NewLoggerProvider(sdklog.WithResource(resource.NewSchemaless(attribute.String("service.name", "billing"))),
				sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
			var rec otellog.Record
			rec.SetSeverity(otellog.SeverityWarn)
			rec.SetBody(attribute.StringValue("invoice overdue"))
			rec.SetTimestamp(time.Now())
			provider.Logger("invoices").Emit(ctx, rec)
			require.NoError(t, provider.Shutdown(ctx), "the batch is sent at shutdown")

			status, env2 := call(t, http.MethodGet, d.URL+"/api/v1/logs?source=billing", tok, "acme", "")
			require.Equal(t, 200, status, env2)
			entries := env2["data"].(map[string]any)["logs"].([]any)
			require.Len(t, entries, 1)
			assert.Equal(t, "invoice overdue", entries[0].(map[string]any)["message"])
			assert.Equal(t, "warn", entries[0].(map[string]any)["level"])

			status, metrics := get(t, d.URL+"/metrics")
			require.Equal(t, 200, status, "open to loopback by default")
			assert.Regexp(t, `(?m)^logsd_ingested_entries_total\{path="otlp"\} 1$`, metrics)
			assert.Regexp(t, `(?m)^logsd_http_requests_total\{method="GET",route="/readyz",status="200"\} 1$`, metrics)
			assert.Regexp(t, `(?m)^logsd_consumer_lag_entries\{consumer="[^"]+"\} [0-9]+$`, metrics)
			assert.Regexp(t, `(?m)^go_goroutines [0-9]+$`, metrics)
			// The purge runs at start (each backend here may purge: SQLite,
			// a superuser, the serving role with the owner's URL).
			require.Eventually(t, func() bool {
				_, m := get(t, d.URL+"/metrics")
				return regexp.MustCompile(`(?m)^logsd_retention_runs_total\{result="ok"\} [1-9]`).MatchString(m)
			}, 30*time.Second, 50*time.Millisecond)
			status, openapi := get(t, d.URL+"/api/v1/openapi.json")
			require.Equal(t, 200, status)
			var doc map[string]any
			require.NoError(t, json.Unmarshal([]byte(openapi), &doc))
			assert.Equal(t, "3.1.0", doc["openapi"])
		})
	}
}

func TestOwnLogs(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want *regexp.Regexp
		not  string
	}{
		{map[string]string{"LOGSD_LOG_FORMAT": "json"}, regexp.MustCompile(`^\{"time":".*","level":"INFO","msg":"hello","k":1\}\n$`), "DEBUG"},
		{map[string]string{"LOGSD_LOG_LEVEL": "debug"}, regexp.MustCompile(`level=DEBUG msg=quiet\n.*level=INFO msg=hello k=1\n$`), ""},
		{map[string]string{"LOGSD_LOG_LEVEL": "warn"}, regexp.MustCompile(`^$`), "hello"},
	} {
		var errOut syncBuffer
		m := NewMain("logsd", io.Discard, &errOut)
		require.NoError(t, m.ParseArgs(nil, envOf(c.env)))
		m.logger().Debug("quiet")
		m.logger().Info("hello", "k", 1)
		assert.Regexp(t, c.want, errOut.String(), "%v", c.env)
		if c.not != "" {
			assert.NotContains(t, errOut.String(), c.not)
		}
	}
}
