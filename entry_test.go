package logs_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ithbat/logs"
)

func TestEntryJSON(t *testing.T) {
	e := logs.Entry{ID: "a1b2c3d4-e5f6-7890-abcd-ef1234567890", TenantID: "t", Level: logs.LevelError, Source: "auth",
		Message: "m", CreatedAt: time.Date(2026, 3, 18, 16, 32, 7, 0, time.FixedZone("", 7200))}
	b, err := json.Marshal(e)
	assert.NoError(t, err)
	assert.JSONEq(t, `{"id":"a1b2c3d4-e5f6-7890-abcd-ef1234567890","tenantId":"t","level":"error","source":"auth",
		"message":"m","metadata":{},"createdAt":"2026-03-18T14:32:07Z"}`, string(b))
	e.CreatedAt = e.CreatedAt.Add(1500 * time.Microsecond)
	b, _ = json.Marshal(e)
	assert.Contains(t, string(b), `"createdAt":"2026-03-18T14:32:07.0015Z"`)
	var back logs.Entry
	assert.NoError(t, json.Unmarshal(b, &back))
	assert.True(t, back.CreatedAt.Equal(e.CreatedAt))
}

func TestCode(t *testing.T) {
	assert.Equal(t, logs.CodeOK, logs.Code(nil))
	assert.Equal(t, logs.CodeInternal, logs.Code(errors.New("boom")))
	assert.Equal(t, logs.CodeNotFound, logs.Code(fmt.Errorf("x: %w: %w", logs.ErrNotFound, errors.New("cause"))))
	fe := logs.Invalid("limit", "too big")
	assert.Equal(t, logs.CodeInvalid, logs.Code(fmt.Errorf("wrapped: %w", fe)))
	assert.Equal(t, "limit", logs.FieldOf(fmt.Errorf("wrapped: %w", fe)))
	assert.Equal(t, "", logs.FieldOf(logs.ErrInvalid))
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
