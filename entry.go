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
// precision and return it in UTC; JSON renders it as [TimeFormat]: RFC 3339
// in UTC with six fractional digits. A nil Metadata renders as {}.
type Entry struct {
	ID        string         `json:"id"`
	TenantID  string         `json:"tenantId"`
	Level     Level          `json:"level"`
	Source    string         `json:"source"`
	Message   string         `json:"message"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt time.Time      `json:"createdAt"`
}

// TimeFormat is the layout of every timestamp the API writes: RFC 3339 in
// UTC with exactly six fractional digits (microseconds, the precision the
// stores keep), such as 2026-03-18T14:32:07.000000Z. The width is fixed so
// that the strings sort as the times they name. Parsers accept any RFC 3339
// time.
const TimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// FormatTime renders t as the API writes timestamps.
func FormatTime(t time.Time) string {
	return t.UTC().Format(TimeFormat)
}

// MarshalJSON writes the entry as the API document shows it ([AppendJSON]).
func (e Entry) MarshalJSON() ([]byte, error) {
	return AppendJSON(make([]byte, 0, 256), &e, nil)
}

// AppendJSON appends the JSON object of e to dst: THE JSON shape of an
// entry, written by the list, the stream and the exports alike. The members
// are those of the API document in its order (id, tenantId, level, source,
// message, metadata, createdAt); text is not HTML-escaped (a message reads
// "<" and "&", the body is never HTML); createdAt is [FormatTime].
//
// rawMetadata, when not empty, is the entry's metadata as a JSON object,
// copied as it is (the caller vouches for it: a store's own column);
// otherwise e.Metadata is encoded, nil as {}. The error, from encoding
// e.Metadata, wraps [ErrInvalid].
func AppendJSON(dst []byte, e *Entry, rawMetadata []byte) ([]byte, error) {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"tenantId":`...)
	dst = appendString(dst, e.TenantID)
	dst = append(dst, `,"level":`...)
	dst = appendString(dst, string(e.Level))
	dst = append(dst, `,"source":`...)
	dst = appendString(dst, e.Source)
	dst = append(dst, `,"message":`...)
	dst = appendString(dst, e.Message)
	dst = append(dst, `,"metadata":`...)
	switch {
	case len(rawMetadata) > 0:
		dst = append(dst, rawMetadata...)
	case e.Metadata == nil:
		dst = append(dst, "{}"...)
	default:
		b, err := marshalNoEscape(e.Metadata)
		if err != nil {
			return nil, fmt.Errorf("logs: entry %s: metadata: %w: %w", e.ID, ErrInvalid, err)
		}
		dst = append(dst, b...)
	}
	dst = append(dst, `,"createdAt":"`...)
	dst = e.CreatedAt.UTC().AppendFormat(dst, TimeFormat)
	return append(dst, `"}`...), nil
}

// marshalNoEscape is json.Marshal without HTML escaping.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json writes
// it with SetEscapeHTML(false): quotes, backslashes and control characters
// escaped, bytes that are not UTF-8 as U+FFFD, and U+2028 and U+2029
// escaped (JavaScript reads them as line ends).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
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
	b, err := marshalNoEscape(md)
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
