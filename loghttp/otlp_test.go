package loghttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
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
	"go.opentelemetry.io/otel/trace"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"

	"github.com/ithbat/logs/internal/openapitest"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore/bunstore"
)

// TestOTLPExporter sends logs with the official OpenTelemetry Go SDK and its
// OTLP/HTTP exporter to a real server, and lists them.
func TestOTLPExporter(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newEnv(t, st, nil)
		for _, compression := range []otlploghttp.Compression{otlploghttp.NoCompression, otlploghttp.GzipCompression} {
			tenant := map[otlploghttp.Compression]string{otlploghttp.NoCompression: "otel", otlploghttp.GzipCompression: "otel-gzip"}[compression]
			ctx := t.Context()
			exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpointURL(e.URL+"/otlp/v1/logs"), otlploghttp.WithCompression(compression),
				otlploghttp.WithHeaders(map[string]string{"Authorization": "Bearer " + token(t, tenant, loghttp.PermWrite), "X-Tenant-ID": tenant}),
				otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}))
			require.NoError(t, err)
			res := resource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.String("deployment.environment", "test"))
			provider := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
			logger := provider.Logger("payments", otellog.WithInstrumentationVersion("1.2.3"))

			traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
			spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
			sctx := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled}))
			at := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
			emit := func(ctx context.Context, sev otellog.Severity, text string, body attribute.Value, when time.Time, attrs ...attribute.KeyValue) {
				var r otellog.Record
				r.SetSeverity(sev)
				r.SetSeverityText(text)
				r.SetBody(body)
				r.SetTimestamp(when)
				r.AddAttributes(attrs...)
				logger.Emit(ctx, r)
			}
			emit(sctx, otellog.SeverityError, "ERROR", attribute.StringValue("payment declined"), at, attribute.String("orderId", "o-1"), attribute.Int("attempt", 3))
			emit(ctx, otellog.SeverityWarn2, "", attribute.StringValue("slow gateway"), at.Add(time.Second))
			emit(ctx, otellog.SeverityDebug, "", attribute.MapValue(attribute.String("k", "v"), attribute.Bool("ok", true)), at.Add(2*time.Second))
			emit(ctx, 0, "fatal", attribute.StringValue("by text only"), at.Add(3*time.Second))
			emit(ctx, otellog.SeverityInfo, "", attribute.StringValue("observed only"), time.Time{})
			require.NoError(t, provider.ForceFlush(ctx))
			require.NoError(t, provider.Shutdown(ctx))

			l := e.list(t, tenant, "")
			require.Len(t, l.Logs, 5, "%+v", l)
			byMsg := map[string]int{}
			for i, en := range l.Logs {
				byMsg[en.Message] = i
				assert.Equal(t, "checkout", en.Source, "service.name is the source")
				assert.Equal(t, tenant, en.TenantID)
			}
			first := l.Logs[byMsg["payment declined"]]
			assert.Equal(t, "error", first.Level)
			assert.Equal(t, at.Format(time.RFC3339Nano), mustParse(t, first.CreatedAt).Format(time.RFC3339Nano))
			assert.Equal(t, "o-1", first.Metadata["orderId"])
			assert.EqualValues(t, 3, first.Metadata["attempt"])
			assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", first.Metadata["traceId"])
			assert.Equal(t, "00f067aa0ba902b7", first.Metadata["spanId"])
			assert.Equal(t, "ERROR", first.Metadata["severityText"])
			assert.Equal(t, map[string]any{"service.name": "checkout", "deployment.environment": "test"}, first.Metadata["resource"])
			assert.Equal(t, map[string]any{"name": "payments", "version": "1.2.3"}, first.Metadata["scope"])
			assert.Equal(t, "warn", l.Logs[byMsg["slow gateway"]].Level)
			require.Contains(t, byMsg, `{"k":"v","ok":true}`, "a map body is its JSON text")
			assert.Equal(t, "info", l.Logs[byMsg[`{"k":"v","ok":true}`]].Level, "DEBUG is info")
			assert.Equal(t, "error", l.Logs[byMsg["by text only"]].Level, "the severity text when the number is unset")
			observed := mustParse(t, l.Logs[byMsg["observed only"]].CreatedAt)
			assert.WithinDuration(t, time.Now(), observed, time.Hour, "the observed time when the record has none")
		}
		m := scrape(t, e.URL, nil)
		assert.Equal(t, 10.0, m[`logsd_ingested_entries_total{path=otlp}`])
	})
}

func mustParse(tb testing.TB, s string) time.Time {
	tb.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(tb, err)
	return ts
}

func otlpRequest(records ...*logspb.LogRecord) *collogspb.ExportLogsServiceRequest {
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource:  &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "svc"}}}}},
		ScopeLogs: []*logspb.ScopeLogs{{LogRecords: records}},
	}}}
}

func str(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func TestOTLPHTTP(t *testing.T) {
	st := openStore(t, "sqlite")
	e := newEnv(t, st, &envOptions{opts: loghttp.Options{MaxIngestBytes: 1 << 20, MaxIngestEntries: 100}})
	write := token(t, "otlp", loghttp.PermWrite)
	post := func(ct string, body []byte, h http.Header) (int, http.Header, []byte) {
		hr, err := http.NewRequest(http.MethodPost, e.URL+"/otlp/v1/logs", bytes.NewReader(body))
		require.NoError(t, err)
		for k, v := range h {
			hr.Header[http.CanonicalHeaderKey(k)] = v
		}
		hr.Header.Set("Content-Type", ct)
		if hr.Header.Get("Authorization") == "" {
			hr.Header.Set("Authorization", "Bearer "+write)
		}
		if hr.Header.Get("X-Tenant-ID") == "" {
			hr.Header.Set("X-Tenant-ID", "otlp")
		}
		res, err := http.DefaultClient.Do(hr)
		require.NoError(t, err)
		defer res.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(res.Body)
		openapitest.Check(t, hr, res.StatusCode, res.Header, b.Bytes())
		return res.StatusCode, res.Header, b.Bytes()
	}
	now := uint64(time.Now().Add(-time.Minute).UnixNano())

	t.Run("JSON with hex ids", func(t *testing.T) {
		body := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-svc"}}]},
		  "scopeLogs":[{"scope":{"name":"s"},"logRecords":[{"timeUnixNano":"` + strconv.FormatUint(now, 10) + `","severityNumber":17,
		  "body":{"stringValue":"from json"},"traceId":"5b8efff798038103d269b633813fc60c","spanId":"EEE19B7EC3C1B174",
		  "attributes":[{"key":"n","value":{"intValue":"42"}},{"key":"d","value":{"doubleValue":1.5}}]}]}]}]}`
		status, h, out := post("application/json", []byte(body), nil)
		require.Equal(t, 200, status, "%s", out)
		assert.Equal(t, "application/json", h.Get("Content-Type"))
		assert.JSONEq(t, `{}`, string(out), "full success: an empty ExportLogsServiceResponse")
		l := e.list(t, "otlp", "source=json-svc")
		require.Len(t, l.Logs, 1)
		assert.Equal(t, "error", l.Logs[0].Level)
		assert.Equal(t, "5b8efff798038103d269b633813fc60c", l.Logs[0].Metadata["traceId"])
		assert.Equal(t, "eee19b7ec3c1b174", l.Logs[0].Metadata["spanId"], "upper-case hex too")
		assert.EqualValues(t, 42, l.Logs[0].Metadata["n"])
		assert.EqualValues(t, 1.5, l.Logs[0].Metadata["d"])
	})
	t.Run("partial success", func(t *testing.T) {
		req := otlpRequest(
			&logspb.LogRecord{TimeUnixNano: now, Body: str("kept")},
			&logspb.LogRecord{TimeUnixNano: now, Body: str(strings.Repeat("x", 70<<10))},
			&logspb.LogRecord{TimeUnixNano: uint64(time.Now().Add(72 * time.Hour).UnixNano()), Body: str("from the future")},
			&logspb.LogRecord{TimeUnixNano: math.MaxUint64, Body: str("beyond any time")},
		)
		b, err := proto.Marshal(req)
		require.NoError(t, err)
		status, h, out := post("application/x-protobuf", b, nil)
		require.Equal(t, 200, status, "%s", out)
		assert.Equal(t, "application/x-protobuf", h.Get("Content-Type"))
		var res collogspb.ExportLogsServiceResponse
		require.NoError(t, proto.Unmarshal(out, &res))
		assert.EqualValues(t, 3, res.GetPartialSuccess().GetRejectedLogRecords())
		assert.Contains(t, res.GetPartialSuccess().GetErrorMessage(), "message")
		assert.Equal(t, []string{"kept"}, e.list(t, "otlp", "source=svc").messages())
	})
	t.Run("hostile", func(t *testing.T) {
		good, err := proto.Marshal(otlpRequest(&logspb.LogRecord{Body: str("m")}))
		require.NoError(t, err)
		deep := str("leaf")
		for range 200 {
			deep = &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{deep}}}}
		}
		deepBody, err := proto.Marshal(otlpRequest(&logspb.LogRecord{Body: deep}))
		require.NoError(t, err)
		many := make([]*logspb.LogRecord, 101)
		for i := range many {
			many[i] = &logspb.LogRecord{Body: str("m")}
		}
		manyBody, err := proto.Marshal(otlpRequest(many...))
		require.NoError(t, err)
		huge, err := proto.Marshal(otlpRequest(&logspb.LogRecord{Body: str(strings.Repeat("y", 2<<20))}))
		require.NoError(t, err)
		for _, c := range []struct {
			name, ct string
			body     []byte
			h        http.Header
			status   int
			code     string
			field    string
		}{
			{"no token", "application/x-protobuf", good, http.Header{"Authorization": {"Basic x"}}, 401, "unauthenticated", ""},
			{"read token", "application/x-protobuf", good, http.Header{"Authorization": {"Bearer " + token(t, "otlp", loghttp.PermRead)}}, 403, "permission_denied", ""},
			{"another tenant", "application/x-protobuf", good, http.Header{"X-Tenant-ID": {"victim"}}, 403, "permission_denied", "X-Tenant-ID"},
			{"unknown type", "text/plain", good, nil, 400, "invalid_argument", "Content-Type"},
			{"garbage protobuf", "application/x-protobuf", []byte{0xff, 0xff, 0xff, 0x01, 0x02}, nil, 400, "invalid_argument", ""},
			{"garbage JSON", "application/json", []byte(`{"resourceLogs":[`), nil, 400, "invalid_argument", ""},
			{"JSON of another shape", "application/json", []byte(`{"resourceLogs":{"no":"array"}}`), nil, 400, "invalid_argument", ""},
			{"bad trace id", "application/json", []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"zz"}]}]}]}`), nil, 400, "invalid_argument", "resourceLogs[0].scopeLogs[0].logRecords[0].traceId"},
			{"nested too deep", "application/x-protobuf", deepBody, nil, 400, "invalid_argument", ""},
			{"too many records", "application/x-protobuf", manyBody, nil, 413, "payload_too_large", ""},
			{"too large", "application/x-protobuf", huge, nil, 413, "payload_too_large", ""},
			{"gzip bomb", "application/x-protobuf", gz(t, string(huge)), http.Header{"Content-Encoding": {"gzip"}}, 413, "payload_too_large", ""},
			{"not gzip", "application/x-protobuf", good, http.Header{"Content-Encoding": {"gzip"}}, 400, "invalid_argument", "Content-Encoding"},
		} {
			t.Run(c.name, func(t *testing.T) {
				status, h, out := post(c.ct, c.body, c.h)
				r := &resp{Status: status, Header: h, Raw: out}
				require.NoError(t, json.Unmarshal(out, &r.Env), "%s", out)
				r.requireError(t, c.status, c.code, c.field)
			})
		}
		assert.Empty(t, e.list(t, "victim", "").Logs, "nothing reached another tenant")
	})
}

// TestOTLPHostileValues sends values no store can keep as they are (NUL in
// attribute keys and values) and values JSON cannot hold: never a 500.
func TestOTLPHostileValues(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newEnv(t, st, nil)
		kv := func(k string, v *commonpb.AnyValue) *commonpb.KeyValue { return &commonpb.KeyValue{Key: k, Value: v} }
		dbl := func(f float64) *commonpb.AnyValue {
			return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
		}
		req := otlpRequest(
			&logspb.LogRecord{Body: str("nul in a value"), Attributes: []*commonpb.KeyValue{kv("k", str("a\x00b"))}},
			&logspb.LogRecord{Body: str("nul in a key"), Attributes: []*commonpb.KeyValue{kv("x\x00y", str("v"))}},
			&logspb.LogRecord{Body: str("not numbers"), Attributes: []*commonpb.KeyValue{kv("nan", dbl(math.NaN())), kv("inf", dbl(math.Inf(-1)))}},
			&logspb.LogRecord{Body: str("nul\x00 in the body")},
			&logspb.LogRecord{Body: str("fine")},
		)
		b, err := proto.Marshal(req)
		require.NoError(t, err)
		hr, err := http.NewRequest(http.MethodPost, e.URL+"/otlp/v1/logs", bytes.NewReader(b))
		require.NoError(t, err)
		hr.Header.Set("Content-Type", "application/x-protobuf")
		hr.Header.Set("Authorization", "Bearer "+token(t, "hostile", loghttp.PermWrite))
		hr.Header.Set("X-Tenant-ID", "hostile")
		res, err := http.DefaultClient.Do(hr)
		require.NoError(t, err)
		defer res.Body.Close()
		var out bytes.Buffer
		_, _ = out.ReadFrom(res.Body)
		require.Equal(t, 200, res.StatusCode, "%s", out.String())
		var r collogspb.ExportLogsServiceResponse
		require.NoError(t, proto.Unmarshal(out.Bytes(), &r))
		l := e.list(t, "hostile", "")
		assert.EqualValues(t, 5, int64(len(l.Logs))+r.GetPartialSuccess().GetRejectedLogRecords(), "each record stored or counted: %s", r.GetPartialSuccess().GetErrorMessage())
		assert.Contains(t, l.messages(), "fine")
		assert.Contains(t, l.messages(), "not numbers")
	})
}
