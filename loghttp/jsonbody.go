package loghttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ithbat/logs"
)

// The checks of this file refuse JSON that encoding/json would read in a
// way of its own choosing instead of refusing it: an object with a key
// twice (it keeps the last), bytes that are not UTF-8 (it reads U+FFFD),
// and numbers beyond float64 (stored as given, they make the answers
// undecodable for most clients).

// ndjsonTypes are the media types of newline-delimited JSON, which ingest
// takes besides application/json.
var ndjsonTypes = []string{"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"}

// bodyType is THE rule for the Content-Type of a request with a JSON body:
// application/json, or no Content-Type at all (an empty one is none).
// Parameters are allowed, but a charset other than utf-8 is not (JSON is
// UTF-8). With ndjson, the NDJSON types are also taken, and bodyType tells
// whether the request names one. Anything else, a malformed type and a
// header given twice included, is a 400 naming Content-Type.
func bodyType(h http.Header, ndjson bool) (isNDJSON bool, err error) {
	want := "application/json"
	if ndjson {
		want += ", " + strings.Join(ndjsonTypes, ", ")
	}
	vals := h.Values("Content-Type")
	switch {
	case len(vals) > 1:
		return false, logs.Invalid("Content-Type", "is given more than once")
	case len(vals) == 0 || strings.TrimSpace(vals[0]) == "":
		return false, nil
	}
	mt, params, err := mime.ParseMediaType(vals[0])
	if err != nil {
		return false, logs.Invalid("Content-Type", "is malformed; send %s, or no Content-Type", want)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return false, logs.Invalid("Content-Type", "names the charset %q; a JSON body is UTF-8 (charset=utf-8, or no charset)", clip(cs, 64))
	}
	switch {
	case mt == "application/json":
		return false, nil
	case ndjson && slices.Contains(ndjsonTypes, mt):
		return true, nil
	}
	return false, logs.Invalid("Content-Type", "is %s; this endpoint takes a JSON body: send %s, or no Content-Type", clip(mt, 64), want)
}

// members calls f with the key (as encoding/json reads it) and the value of each member
// of the JSON object raw, in order. raw must be valid JSON (as
// json.Unmarshal or a json.Decoder accepted it).
func members(raw []byte, f func(key string, val []byte) error) error {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return errors.New("not an object")
	}
	i++
	for {
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return errors.New("truncated object")
		}
		switch raw[i] {
		case '}':
			return nil
		case ',':
			i = skipSpace(raw, i+1)
		}
		end := skipString(raw, i)
		key := string(raw[i+1 : end-1])
		if bytes.IndexByte(raw[i:end], '\\') >= 0 || !utf8.Valid(raw[i:end]) {
			if err := json.Unmarshal(raw[i:end], &key); err != nil {
				return err
			}
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return errors.New("no colon after a key")
		}
		i = skipSpace(raw, i+1)
		end = skipValue(raw, i)
		if err := f(key, raw[i:end]); err != nil {
			return err
		}
		i = end
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i] ('"').
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value that starts at b[i].
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = skipString(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return i
			}
		case ',':
			if depth == 0 {
				return i
			}
		case ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}

// checkObject refuses a key given twice in the JSON object raw and bytes
// that are not UTF-8, naming the member as prefix+key (or prefix without
// its trailing dot when the fault is in a key). raw must be valid JSON.
func checkObject(raw []byte, prefix string) error {
	valid := utf8.Valid(raw)
	seen := make(map[string]bool, 8)
	whole := prefix
	if n := len(whole); n > 0 && whole[n-1] == '.' {
		whole = whole[:n-1]
	}
	err := members(raw, func(key string, val []byte) error {
		if seen[key] {
			return logs.Invalid(prefix+clip(key, 64), "is given more than once")
		}
		seen[key] = true
		if !valid && !utf8.Valid(val) {
			return logs.Invalid(prefix+clip(key, 64), "is not valid UTF-8")
		}
		return nil
	})
	if err == nil && !valid {
		// Every value is valid: a key is not.
		err = logs.Invalid(whole, "has a field name that is not valid UTF-8")
	}
	return err
}

// elements calls f with each element of the JSON array raw, in order. raw
// must be valid JSON.
func elements(raw []byte, f func(val []byte) error) error {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return errors.New("not an array")
	}
	i++
	for {
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return errors.New("truncated array")
		}
		switch raw[i] {
		case ']':
			return nil
		case ',':
			i = skipSpace(raw, i+1)
		}
		end := skipValue(raw, i)
		if err := f(raw[i:end]); err != nil {
			return err
		}
		i = end
	}
}

// duplicate is a key found twice in one object; path locates the object
// from the outside in.
type duplicate struct {
	key  string
	path []string
}

func (d *duplicate) Error() string { return "key " + d.key + " given twice" }

// uniqueKeys refuses a key given twice in any object of the JSON value raw,
// at any depth (checkObject looks at one object only): the error names
// field, and its message the key and where it is, as field.a.b[2]. raw
// must be valid JSON.
func uniqueKeys(raw []byte, field string) error {
	err := findDuplicate(raw)
	if err == nil {
		return nil
	}
	var d *duplicate
	if !errors.As(err, &d) {
		return logs.Invalid(field, "cannot be read")
	}
	where := field
	for i := len(d.path) - 1; i >= 0; i-- {
		where += d.path[i]
	}
	return logs.Invalid(field, "has the key %q more than once in %s; give each key once", clip(d.key, 64), clip(where, 200))
}

// findDuplicate returns a *duplicate for the first object of raw with a
// key twice (its path built on the way out, innermost first).
func findDuplicate(raw []byte) error {
	i := skipSpace(raw, 0)
	if i >= len(raw) {
		return nil
	}
	switch raw[i] {
	case '{':
		var small [16]string
		keys := small[:0]
		var seen map[string]bool // once there are more keys than small holds
		return members(raw, func(key string, val []byte) error {
			switch {
			case seen != nil:
				if seen[key] {
					return &duplicate{key: key}
				}
				seen[key] = true
			case slices.Contains(keys, key):
				return &duplicate{key: key}
			case len(keys) < len(small):
				keys = append(keys, key)
			default:
				seen = make(map[string]bool, 2*len(keys))
				for _, k := range keys {
					seen[k] = true
				}
				seen[key] = true
			}
			if err := findDuplicate(val); err != nil {
				if d, ok := err.(*duplicate); ok {
					d.path = append(d.path, "."+key)
				}
				return err
			}
			return nil
		})
	case '[':
		n := 0
		return elements(raw, func(val []byte) error {
			if err := findDuplicate(val); err != nil {
				if d, ok := err.(*duplicate); ok {
					d.path = append(d.path, "["+strconv.Itoa(n)+"]")
				}
				return err
			}
			n++
			return nil
		})
	}
	return nil
}

// finiteNumbers reports whether every json.Number in v parses as a float64.
func finiteNumbers(v any) bool {
	switch x := v.(type) {
	case json.Number:
		_, err := strconv.ParseFloat(string(x), 64)
		return err == nil
	case map[string]any:
		for _, e := range x {
			if !finiteNumbers(e) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !finiteNumbers(e) {
				return false
			}
		}
	}
	return true
}

// parseObject reads body as one JSON object whose members are named in
// fields (strictly: a key twice, bytes that are not UTF-8, trailing data
// are refused) and returns them, raw. An empty body is an empty object
// when emptyOK. example shows a valid body in error messages.
func parseObject(body []byte, fields []string, emptyOK bool, example string) (map[string]json.RawMessage, error) {
	vals := map[string]json.RawMessage{}
	if emptyOK && len(bytes.TrimSpace(body)) == 0 {
		return vals, nil
	}
	notObject := logs.Invalid("", "the body must be a JSON object such as %s", example)
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil || len(raw) == 0 || raw[0] != '{' {
		return nil, notObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, logs.Invalid("", "the body must hold one JSON object and nothing after it")
	}
	if err := checkObject(raw, ""); err != nil {
		return nil, err
	}
	err := members(raw, func(key string, val []byte) error {
		if !slices.Contains(fields, key) {
			return logs.Invalid(clip(key, 64), "is not a field of this request (fields: %s)", strings.Join(fields, ", "))
		}
		vals[key] = val
		return nil
	})
	if err != nil {
		return nil, err
	}
	return vals, nil
}

// parseStringObject is parseObject for an object whose members are strings
// or null (absent).
func parseStringObject(body []byte, fields []string, emptyOK bool, example string) (map[string]string, error) {
	raw, err := parseObject(body, fields, emptyOK, example)
	if err != nil {
		return nil, err
	}
	vals := map[string]string{}
	for key, val := range raw {
		if string(val) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(val, &s); err != nil {
			return nil, logs.Invalid(key, "must be a string")
		}
		vals[key] = s
	}
	return vals, nil
}
