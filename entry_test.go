package logs_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
)

func TestEntryJSON(t *testing.T) {
	e := logs.Entry{ID: "a1b2c3d4-e5f6-7890-abcd-ef1234567890", TenantID: "t", Level: logs.LevelError, Source: "auth",
		Message: "m", CreatedAt: time.Date(2026, 3, 18, 16, 32, 7, 0, time.FixedZone("", 7200))}
	b, err := json.Marshal(e)
	assert.NoError(t, err)
	assert.JSONEq(t, `{"id":"a1b2c3d4-e5f6-7890-abcd-ef1234567890","tenantId":"t","level":"error","source":"auth",
		"message":"m","metadata":{},"createdAt":"2026-03-18T14:32:07.000000Z"}`, string(b))
	e.CreatedAt = e.CreatedAt.Add(1500 * time.Microsecond)
	b, _ = json.Marshal(e)
	assert.Contains(t, string(b), `"createdAt":"2026-03-18T14:32:07.001500Z"`)
	var back logs.Entry
	assert.NoError(t, json.Unmarshal(b, &back))
	assert.True(t, back.CreatedAt.Equal(e.CreatedAt))
}

// Times are written with a fixed width, so that their strings sort as the
// times (defect 8: 21:26:23.85954Z sorted before 21:26:09.030923Z).
func TestFormatTimeSortsAsTimes(t *testing.T) {
	base := time.Date(2026, 3, 18, 21, 26, 9, 0, time.UTC)
	times := []time.Time{
		base, base.Add(time.Microsecond), base.Add(30923 * time.Microsecond), base.Add(100 * time.Millisecond),
		base.Add(time.Second), base.Add(14*time.Second + 859540*time.Microsecond), base.Add(time.Hour).In(time.FixedZone("", -5*3600)),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
	}
	var strs []string
	for _, tm := range times {
		s := logs.FormatTime(tm)
		assert.Regexp(t, `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$`, s)
		back, err := time.Parse(time.RFC3339Nano, s)
		assert.NoError(t, err)
		assert.True(t, back.Equal(tm), s)
		strs = append(strs, s)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	sort.Strings(strs)
	for i := range times {
		assert.Equal(t, logs.FormatTime(times[i]), strs[i])
	}
	assert.Equal(t, "2026-03-18T14:32:07.000000Z", logs.FormatTime(time.Date(2026, 3, 18, 16, 32, 7, 0, time.FixedZone("", 7200))))
	assert.Equal(t, "2026-03-18T14:32:07.123456Z", logs.FormatTime(time.Date(2026, 3, 18, 14, 32, 7, 123456789, time.UTC)), "microseconds, cut")
}

func TestCode(t *testing.T) {
	assert.Equal(t, logs.CodeOK, logs.Code(nil))
	assert.Equal(t, logs.CodeInternal, logs.Code(errors.New("boom")))
	assert.Equal(t, logs.CodeNotFound, logs.Code(fmt.Errorf("x: %w: %w", logs.ErrNotFound, errors.New("cause"))))
	fe := logs.Invalid("limit", "too big")
	assert.Equal(t, logs.CodeInvalid, logs.Code(fmt.Errorf("wrapped: %w", fe)))
	assert.Equal(t, "limit", logs.FieldOf(fmt.Errorf("wrapped: %w", fe)))
	assert.Equal(t, "", logs.FieldOf(logs.ErrInvalid))
	assert.Equal(t, "limit: too big", fe.Error())
	assert.Equal(t, logs.CodeConflict, logs.Code(fmt.Errorf("x: %w", logs.ErrConflict)))
}

func TestError(t *testing.T) {
	cause := errors.New("pgx: secret internals")
	tests := []struct {
		name  string
		err   *logs.Error
		code  logs.ErrorCode
		field string
		text  string
	}{
		{"invalid", logs.Invalid("startDate", "is after %s", "endDate"), logs.CodeInvalid, "startDate", "startDate: is after endDate"},
		{"no field", logs.NewError(logs.ErrNotFound, "", "no export with this id"), logs.CodeNotFound, "", "no export with this id"},
		{"with cause", &logs.Error{Kind: logs.ErrUnauthenticated, Message: "bad signature", Err: cause}, logs.CodeUnauthenticated, "", "bad signature: pgx: secret internals"},
		{"conflict", logs.NewError(logs.ErrConflict, "logs[2].id", "was stored before with other content"), logs.CodeConflict, "logs[2].id", "logs[2].id: was stored before with other content"},
		{"no kind", &logs.Error{Message: "m", Err: cause}, logs.CodeInternal, "", "m: pgx: secret internals"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wrapped := fmt.Errorf("pkg: op: %w", tt.err)
			assert.Equal(t, tt.code, logs.Code(wrapped))
			assert.Equal(t, tt.field, logs.FieldOf(wrapped))
			assert.Equal(t, tt.text, tt.err.Error())
			var e *logs.Error
			assert.True(t, errors.As(wrapped, &e))
			if tt.err.Err != nil {
				assert.ErrorIs(t, wrapped, cause)
			}
		})
	}
}

func TestValidateTenant(t *testing.T) {
	for _, ok := range []string{"3e7a9f12-4b2c-4d8e-a1f0-9c2b3d4e5f6a", "acme", "org:acme.eu_1"} {
		assert.NoError(t, logs.ValidateTenant("X-Tenant-ID", ok), ok)
	}
	for _, bad := range []string{"", "a b", "a/b", "é", string(make([]byte, 129))} {
		assert.Equal(t, "X-Tenant-ID", logs.FieldOf(logs.ValidateTenant("X-Tenant-ID", bad)), bad)
	}
}

// MarshalJSON itself does not escape HTML (json.Marshal around it still
// does; the API's writers use an Encoder with SetEscapeHTML(false)).
func TestEntryJSONNoHTMLEscaping(t *testing.T) {
	b, err := logs.Entry{Message: "a < b && c > d", CreatedAt: time.Unix(0, 0)}.MarshalJSON()
	assert.NoError(t, err)
	assert.Contains(t, string(b), `"message":"a < b && c > d"`)
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	assert.NoError(t, enc.Encode([]logs.Entry{{Message: "<&>"}}))
	assert.Contains(t, buf.String(), `"message":"<&>"`)
}

func TestAppendJSON(t *testing.T) {
	at := time.Date(2026, 3, 18, 14, 32, 7, 0, time.UTC)
	e := logs.Entry{ID: "a1b2c3d4-e5f6-7890-abcd-ef1234567890", TenantID: "t", Level: logs.LevelError, Source: "auth",
		Message: "a < b && \"c\"\n", CreatedAt: at}
	prefix := `{"id":"a1b2c3d4-e5f6-7890-abcd-ef1234567890","tenantId":"t","level":"error","source":"auth","message":"a < b && \"c\"\n","metadata":`
	suffix := `,"createdAt":"` + logs.FormatTime(at) + `"}`
	tests := []struct {
		name string
		md   map[string]any
		raw  []byte
		want string
	}{
		{"nil metadata", nil, nil, "{}"},
		{"metadata, no HTML escaping", map[string]any{"b": "<&>", "a": 1}, nil, `{"a":1,"b":"<&>"}`},
		{"raw metadata copied as it is", map[string]any{"ignored": true}, []byte(`{"z":"<"}`), `{"z":"<"}`},
		{"empty raw metadata", nil, []byte{}, "{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e
			e.Metadata = tt.md
			b, err := logs.AppendJSON([]byte("x"), &e, tt.raw)
			require.NoError(t, err)
			assert.Equal(t, "x"+prefix+tt.want+suffix, string(b))
			assert.True(t, json.Valid(b[1:]))
			if tt.raw == nil {
				m, err := e.MarshalJSON()
				require.NoError(t, err)
				assert.Equal(t, string(b[1:]), string(m), "MarshalJSON is AppendJSON")
			}
		})
	}
	e.Metadata = map[string]any{"f": func() {}}
	_, err := logs.AppendJSON(nil, &e, nil)
	assert.ErrorIs(t, err, logs.ErrInvalid)
}

// AppendJSON writes text exactly as encoding/json does without HTML
// escaping.
func FuzzAppendJSONText(f *testing.F) {
	for _, s := range []string{"", "plain", "<&>", "quote\" back\\slash", "\x00\x01\b\f\n\r\t\x1f\x7f", "é — 日本", "\u2028\u2029", "\xff\xfe bad", "a\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf strings.Builder
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		require.NoError(t, enc.Encode(s))
		b, err := logs.AppendJSON(nil, &logs.Entry{Message: s}, nil)
		require.NoError(t, err)
		want := `"message":` + strings.TrimSuffix(buf.String(), "\n") + `,"metadata"`
		assert.Contains(t, string(b), want)
	})
}
