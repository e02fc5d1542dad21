package logs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Level is the severity of an entry: [LevelInfo], [LevelWarn] or [LevelError].
type Level string

// The levels of the Logs API. No other value is valid.
const (
	LevelInfo  Level = "info"
	LevelWarn  Level = "warn"
	LevelError Level = "error"
)

// Valid reports whether l is one of the three levels.
func (l Level) Valid() bool {
	return l == LevelInfo || l == LevelWarn || l == LevelError
}

// ParseLevel returns the level named s. The match is exact (lower case), as in
// the API document; anything else is an error wrapping [ErrInvalid].
func ParseLevel(s string) (Level, error) {
	l := Level(s)
	if !l.Valid() {
		return "", fmt.Errorf("logs: level %q: %w", s, ErrInvalid)
	}
	return l, nil
}

// Entry is one log entry, with exactly the fields and JSON names of the API
// document's "Log Entry Fields".
//
// CreatedAt is the time the event occurred. Stores keep it with microsecond
// precision and return it in UTC; JSON renders it as RFC 3339 in UTC, with
// fractional seconds only when there are any. A nil Metadata renders as {}.
type Entry struct {
	ID        string         `json:"id"`
	TenantID  string         `json:"tenantId"`
	Level     Level          `json:"level"`
	Source    string         `json:"source"`
	Message   string         `json:"message"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt time.Time      `json:"createdAt"`
}

// entryJSON is Entry with CreatedAt as text, so that MarshalJSON controls
// the time format and the nil-metadata case.
type entryJSON struct {
	ID        string         `json:"id"`
	TenantID  string         `json:"tenantId"`
	Level     Level          `json:"level"`
	Source    string         `json:"source"`
	Message   string         `json:"message"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt string         `json:"createdAt"`
}

// TimeFormat is the layout of every timestamp the API writes: RFC 3339 in
// UTC, with as many fractional digits as needed and none for whole seconds.
const TimeFormat = time.RFC3339Nano

// FormatTime renders t as the API writes timestamps.
func FormatTime(t time.Time) string {
	return t.UTC().Format(TimeFormat)
}

// MarshalJSON writes the entry as the API document shows it.
func (e Entry) MarshalJSON() ([]byte, error) {
	md := e.Metadata
	if md == nil {
		md = map[string]any{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // a message reads "<" and "&", not "\u003c" and "\u0026"
	if err := enc.Encode(entryJSON{
		ID: e.ID, TenantID: e.TenantID, Level: e.Level, Source: e.Source,
		Message: e.Message, Metadata: md, CreatedAt: FormatTime(e.CreatedAt),
	}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Limits on one entry, enforced by [Entry.Validate].
const (
	MaxSourceLen   = 128       // bytes
	MaxMessageLen  = 64 << 10  // bytes
	MaxMetadataLen = 256 << 10 // bytes of metadata once encoded as JSON
)

// Validate checks what a writer supplies: a valid level, and a non-empty
// source and message of valid UTF-8 without NUL within their limits. ID, TenantID,
// CreatedAt and the metadata (see [EncodeMetadata]) are checked by the store,
// which may assign them. The error is an *Error naming the JSON field.
func (e *Entry) Validate() error {
	switch {
	case e.Level == "":
		return Invalid("level", "is required")
	case !e.Level.Valid():
		return Invalid("level", "must be one of info, warn, error; got %q", string(e.Level))
	case e.Source == "":
		return Invalid("source", "is required")
	case len(e.Source) > MaxSourceLen:
		return Invalid("source", "is longer than %d bytes", MaxSourceLen)
	case e.Message == "":
		return Invalid("message", "is required")
	case len(e.Message) > MaxMessageLen:
		return Invalid("message", "is longer than %d bytes", MaxMessageLen)
	}
	if err := ValidText("source", e.Source); err != nil {
		return err
	}
	if err := ValidText("message", e.Message); err != nil {
		return err
	}
	return nil
}

// EncodeMetadata returns md as a JSON object ("{}" for nil), or a
// *Error for "metadata" when it cannot be encoded or is larger than
// [MaxMetadataLen].
func EncodeMetadata(md map[string]any) ([]byte, error) {
	if md == nil {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(md)
	if err != nil {
		return nil, Invalid("metadata", "cannot be encoded as JSON: %v", err)
	}
	if len(b) > MaxMetadataLen {
		return nil, Invalid("metadata", "is larger than %d bytes as JSON", MaxMetadataLen)
	}
	return b, nil
}

// MaxTenantLen is the longest tenant id accepted.
const MaxTenantLen = 128

// ValidateTenant checks a tenant id: 1 to [MaxTenantLen] bytes of ASCII
// letters, digits and . _ : -. The error is an *Error for field.
func ValidateTenant(field, tenant string) error {
	if tenant == "" {
		return Invalid(field, "is required")
	}
	if len(tenant) > MaxTenantLen {
		return Invalid(field, "is longer than %d bytes", MaxTenantLen)
	}
	for i := 0; i < len(tenant); i++ {
		c := tenant[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return Invalid(field, "may hold only letters, digits and . _ : -")
		}
	}
	return nil
}

// ValidText checks that s is valid UTF-8 without NUL characters (which no
// database of the service can store in text), as an *Error for field.
func ValidText(field, s string) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "is not valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return Invalid(field, "must not contain NUL characters")
	}
	return nil
}
