package loghttp

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstore"
)

// OTLPPath is the OTLP/HTTP logs endpoint: an OpenTelemetry exporter whose
// endpoint is the server's base URL + "/otlp" sends here.
const OTLPPath = "/otlp/v1/logs"

// The media types of OTLP/HTTP.
const (
	otlpProtobuf = "application/x-protobuf"
	otlpJSON     = "application/json"
)

// otlpDepth bounds the nesting of an OTLP message (AnyValue lists and maps
// within each other), so that a hostile body cannot make decoding recurse
// without end.
const otlpDepth = 64

// ingestOTLP serves POST /otlp/v1/logs: an ExportLogsServiceRequest in
// protobuf or JSON, gzip or not, answered with an
// ExportLogsServiceResponse in the same encoding. Records that cannot be
// stored (an entry's limits, a time out of range) are counted in its
// partial_success, with the first reason; the others are stored.
func (s *Server) ingestOTLP(w http.ResponseWriter, r *http.Request, c *call) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != otlpProtobuf && mt != otlpJSON) {
		return logs.Invalid("Content-Type", "must be %s or %s (OTLP/HTTP)", otlpProtobuf, otlpJSON)
	}
	body, done, err := s.ingestBody(w, r)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return s.jsonError(err, "") // the deadline stays: a stalled body is cut off
	}
	done()
	var req collogspb.ExportLogsServiceRequest
	if mt == otlpProtobuf {
		if err := (proto.UnmarshalOptions{RecursionLimit: otlpDepth}).Unmarshal(raw, &req); err != nil {
			return logs.Invalid("", "the body is not an OTLP ExportLogsServiceRequest in protobuf")
		}
	} else {
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true, RecursionLimit: otlpDepth}).Unmarshal(raw, &req); err != nil {
			return logs.Invalid("", "the body is not an OTLP ExportLogsServiceRequest in JSON: %s", clip(err.Error(), 200))
		}
		if err := otlpJSONIDs(&req); err != nil {
			return err
		}
	}
	n := 0
	for _, rl := range req.GetResourceLogs() {
		for _, sl := range rl.GetScopeLogs() {
			n += len(sl.GetLogRecords())
		}
	}
	if n > s.opts.MaxIngestEntries {
		return s.tooMany()
	}
	if err := s.limitIngest(c.Tenant, n); err != nil {
		return err
	}
	now := time.Now()
	entries := make([]logs.Entry, 0, n)
	var rejected int64
	var firstReason string
	reject := func(i int, err error) {
		rejected++
		if firstReason == "" {
			firstReason = fmt.Sprintf("record %d: %s", i, public(err).Field+" "+public(err).Message)
		}
	}
	i := 0
	for _, rl := range req.GetResourceLogs() {
		resource := attributes(rl.GetResource().GetAttributes())
		source, _ := resource["service.name"].(string)
		if source == "" {
			source = "unknown_service"
		}
		for _, sl := range rl.GetScopeLogs() {
			for _, rec := range sl.GetLogRecords() {
				e := otlpEntry(rec, source, resource, sl.GetScope())
				if _, err := logstore.Prepare(c.Tenant, []logs.Entry{e}, now); err != nil {
					reject(i, err)
				} else if _, err := logs.EncodeMetadata(e.Metadata); err != nil {
					reject(i, err)
				} else {
					entries = append(entries, e)
				}
				i++
			}
		}
	}
	stored, err := s.store.Append(r.Context(), c.Tenant, entries)
	if logs.Code(err) == logs.CodeInvalid {
		// A record the store refuses (its time is past the tenant's
		// retention, say) must not take the others with it: one by one.
		stored = nil
		for k, e := range entries {
			one, err := s.store.Append(r.Context(), c.Tenant, []logs.Entry{e})
			if logs.Code(err) == logs.CodeInvalid {
				reject(k, err)
				continue
			}
			if err != nil {
				return err
			}
			stored = append(stored, one...)
		}
	} else if err != nil {
		return err
	}
	s.metrics.ingested.WithLabelValues("otlp").Add(float64(len(stored)))
	res := &collogspb.ExportLogsServiceResponse{}
	if rejected > 0 {
		s.metrics.rejected.WithLabelValues().Add(float64(rejected))
		res.PartialSuccess = &collogspb.ExportLogsPartialSuccess{RejectedLogRecords: rejected,
			ErrorMessage: fmt.Sprintf("%d of %d log records were rejected; first: %s", rejected, n, clip(firstReason, 300))}
	}
	var out []byte
	if mt == otlpProtobuf {
		out, err = proto.Marshal(res)
	} else {
		out, err = protojson.Marshal(res)
	}
	if err != nil {
		return fmt.Errorf("loghttp: otlp: encode response: %w: %w", logs.ErrInternal, err)
	}
	w.Header().Set("Content-Type", mt)
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return nil
}

// otlpEntry maps a log record to an entry: severity to level, the body to
// the message (JSON text unless a string), attributes to metadata with
// the resource's attributes under "resource", the scope under "scope", and
// traceId, spanId, severityText, eventName when set; the record's time,
// else its observed time, to createdAt (else the store's now).
func otlpEntry(rec *logspb.LogRecord, source string, resource map[string]any, scope *commonpb.InstrumentationScope) logs.Entry {
	md := attributes(rec.GetAttributes())
	if md == nil {
		md = map[string]any{}
	}
	if len(resource) > 0 {
		md["resource"] = resource
	}
	if scope.GetName() != "" {
		sc := map[string]any{"name": scope.GetName()}
		if scope.GetVersion() != "" {
			sc["version"] = scope.GetVersion()
		}
		md["scope"] = sc
	}
	if id := rec.GetTraceId(); len(id) > 0 {
		md["traceId"] = hex.EncodeToString(id)
	}
	if id := rec.GetSpanId(); len(id) > 0 {
		md["spanId"] = hex.EncodeToString(id)
	}
	if t := rec.GetSeverityText(); t != "" {
		md["severityText"] = t
	}
	if n := rec.GetEventName(); n != "" {
		md["eventName"] = n
	}
	e := logs.Entry{Level: otlpLevel(rec.GetSeverityNumber(), rec.GetSeverityText()), Source: source, Metadata: md}
	switch b := rec.GetBody().GetValue().(type) {
	case nil:
	case *commonpb.AnyValue_StringValue:
		e.Message = b.StringValue
	default:
		j, err := json.Marshal(anyValue(rec.GetBody(), 0))
		if err == nil {
			e.Message = string(j)
		}
	}
	if e.Message == "" {
		e.Message = rec.GetEventName()
	}
	if e.Message == "" {
		e.Message = "(no body)"
	}
	ts := rec.GetTimeUnixNano()
	if ts == 0 {
		ts = rec.GetObservedTimeUnixNano()
	}
	switch {
	case ts > math.MaxInt64:
		e.CreatedAt = time.Unix(0, math.MaxInt64).UTC() // past 2262: refused as out of range, never now
	case ts != 0:
		e.CreatedAt = time.Unix(0, int64(ts)).UTC()
	}
	return e
}

// otlpLevel maps an OTLP severity: TRACE, DEBUG and INFO (1-12) are info,
// WARN (13-16) warn, ERROR and FATAL (17-24) error; with the number unset,
// the severity text decides the same way (info when it names none).
func otlpLevel(n logspb.SeverityNumber, text string) logs.Level {
	switch {
	case n >= logspb.SeverityNumber_SEVERITY_NUMBER_ERROR:
		return logs.LevelError
	case n >= logspb.SeverityNumber_SEVERITY_NUMBER_WARN:
		return logs.LevelWarn
	case n > 0:
		return logs.LevelInfo
	}
	t := strings.ToUpper(strings.TrimSpace(text))
	switch {
	case strings.HasPrefix(t, "WARN"):
		return logs.LevelWarn
	case strings.HasPrefix(t, "ERR"), strings.HasPrefix(t, "FATAL"), strings.HasPrefix(t, "CRIT"),
		strings.HasPrefix(t, "ALERT"), strings.HasPrefix(t, "EMERG"), strings.HasPrefix(t, "PANIC"):
		return logs.LevelError
	}
	return logs.LevelInfo
}

// attributes converts OTLP key/values to a metadata object (nil for none).
// A key given twice keeps its last value.
func attributes(kvs []*commonpb.KeyValue) map[string]any {
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = anyValue(kv.GetValue(), 0)
	}
	return m
}

// anyValue converts an OTLP AnyValue to what encodes as JSON: bytes as
// base64 text, a double that JSON cannot hold (NaN, ±Inf) as its text.
func anyValue(v *commonpb.AnyValue, depth int) any {
	if depth > otlpDepth {
		return nil
	}
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		if !utf8.ValidString(x.StringValue) {
			return strings.ToValidUTF8(x.StringValue, "\uFFFD")
		}
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		if math.IsNaN(x.DoubleValue) || math.IsInf(x.DoubleValue, 0) {
			return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
		}
		return x.DoubleValue
	case *commonpb.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		out := make([]any, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, anyValue(e, depth+1))
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		out := make(map[string]any, len(x.KvlistValue.GetValues()))
		for _, kv := range x.KvlistValue.GetValues() {
			out[kv.GetKey()] = anyValue(kv.GetValue(), depth+1)
		}
		return out
	}
	return nil
}

// otlpJSONIDs corrects the trace and span ids of a request read from
// OTLP/JSON. OTLP/JSON writes them in hex, but protojson reads bytes as
// base64, and hex digits are base64 digits: a 32-digit trace id reads as 24
// bytes. Those bytes are encoded back to the text they came from, which is
// then read as hex. An id that was base64 after all (16 or 8 bytes already)
// is kept; any other is a 400 naming it.
func otlpJSONIDs(req *collogspb.ExportLogsServiceRequest) error {
	for i, rl := range req.GetResourceLogs() {
		for j, sl := range rl.GetScopeLogs() {
			for k, rec := range sl.GetLogRecords() {
				field := func(name string) string {
					return fmt.Sprintf("resourceLogs[%d].scopeLogs[%d].logRecords[%d].%s", i, j, k, name)
				}
				var err error
				if rec.TraceId, err = hexID(rec.TraceId, 16); err != nil {
					return logs.Invalid(field("traceId"), "must be 32 hex digits")
				}
				if rec.SpanId, err = hexID(rec.SpanId, 8); err != nil {
					return logs.Invalid(field("spanId"), "must be 16 hex digits")
				}
			}
		}
	}
	return nil
}

// hexID is the id of n bytes that b, read as base64 from hex text, stands
// for (see otlpJSONIDs).
func hexID(b []byte, n int) ([]byte, error) {
	if len(b) == 0 || len(b) == n {
		return b, nil
	}
	id, err := hex.DecodeString(base64.RawStdEncoding.EncodeToString(b))
	if err != nil || len(id) != n {
		return nil, errors.New("not an id")
	}
	return id, nil
}
