package loghttp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

// listResponse is the data of GET /api/v1/logs, as the API document shows,
// and nextCursor (an extension): the cursor of the next page, null on the
// last.
type listResponse struct {
	Logs       []logs.Entry `json:"logs"`
	Total      int64        `json:"total"`
	Page       int          `json:"page"`
	Limit      int          `json:"limit"`
	NextCursor *string      `json:"nextCursor"`
}

// listLogs serves GET /api/v1/logs: a page by number, or after a cursor.
func (s *Server) listLogs(w http.ResponseWriter, r *http.Request, c *call) error {
	f, err := logquery.ParseValues(c.Query)
	if err != nil {
		return err
	}
	vals := c.Query["cursor"]
	if len(vals) > 1 { // an empty one too: never page 1 in place of a cursor in silence
		return logs.Invalid("cursor", "is given more than once")
	}
	if len(vals) == 1 && vals[0] != "" {
		switch {
		case c.Query.Get("page") != "":
			return logs.Invalid("cursor", "continues a list after the page it came with: give it without page")
		}
		if f.After, f.Page, err = s.opts.Cursors.Open(c.Tenant, f, vals[0]); err != nil {
			return err
		}
	}
	page, err := s.store.Query(r.Context(), c.Tenant, f)
	if err != nil {
		return err
	}
	for _, e := range page.Entries {
		if e.TenantID != c.Tenant { // never, but never hand out another tenant's entry
			return fmt.Errorf("loghttp: list: store returned an entry of another tenant: %w", logs.ErrInternal)
		}
	}
	out := page.Entries
	if out == nil {
		out = []logs.Entry{}
	}
	res := listResponse{Logs: out, Total: page.Total, Page: f.Page, Limit: f.Limit}
	if page.More && len(out) > 0 && f.Page < logquery.MaxCursorPage {
		last := out[len(out)-1]
		next := s.opts.Cursors.Seal(c.Tenant, f, logquery.Position{CreatedAt: last.CreatedAt, ID: last.ID}, f.Page+1)
		res.NextCursor = &next
	}
	writeData(w, http.StatusOK, res)
	return nil
}

// ingestResponse is the data of a 201 to POST /api/v1/logs.
type ingestResponse struct {
	IDs   []string `json:"ids"`
	Count int      `json:"count"`
}

// ingestLogs serves POST /api/v1/logs.
func (s *Server) ingestLogs(w http.ResponseWriter, r *http.Request, c *call) error {
	ndjson, err := bodyType(r.Header, true)
	if err != nil {
		return err
	}
	body, done, err := s.ingestBody(w, r)
	if err != nil {
		return err
	}
	entries, err := s.decodeEntries(body, ndjson, c.Tenant)
	if err != nil {
		return err // the deadline stays: a stalled body is cut off
	}
	// The body is read: lift the deadline, which would otherwise cancel the
	// request's context while the store is still writing.
	done()
	if err := s.limitIngest(c.Tenant, len(entries)); err != nil {
		return err
	}
	stored, err := s.store.Append(r.Context(), c.Tenant, entries)
	if err != nil {
		return err
	}
	s.metrics.ingested.WithLabelValues("api").Add(float64(len(stored)))
	ids := make([]string, len(stored))
	for i, e := range stored {
		ids[i] = e.ID
	}
	writeData(w, http.StatusCreated, ingestResponse{IDs: ids, Count: len(ids)})
	return nil
}

// innermost unwraps w to the server's own ResponseWriter, so that
// http.MaxBytesReader can tell the server to close the connection after a
// body that is too large.
func innermost(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

func (s *Server) tooLarge() error {
	return logs.NewError(logs.ErrTooLarge, "", "the body is larger than %d bytes; send at most %d entries and %d bytes per request",
		s.opts.MaxIngestBytes, s.opts.MaxIngestEntries, s.opts.MaxIngestBytes)
}

// decodeEntries reads the body of an ingest request: one entry,
// {"logs":[...]}, or NDJSON (ndjson set, or more than one JSON value).
func (s *Server) decodeEntries(body io.Reader, ndjson bool, tenant string) ([]logs.Entry, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(body, 64<<10))
	dec.UseNumber()
	var entries []logs.Entry
	add := func(raw json.RawMessage, obj map[string]json.RawMessage) error {
		if len(entries) >= s.opts.MaxIngestEntries {
			return s.tooMany()
		}
		e, err := decodeEntry(raw, obj, len(entries), tenant)
		if err != nil {
			return err
		}
		entries = append(entries, e)
		return nil
	}
	for {
		raw, obj, err := s.nextObject(dec, len(entries))
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if _, batch := obj["logs"]; batch && !ndjson && len(entries) == 0 {
			if err := s.decodeBatch(raw, obj, add); err != nil {
				return nil, err
			}
			if _, err := dec.Token(); err != io.EOF {
				if s.isTooLarge(err) {
					return nil, s.tooLarge()
				}
				return nil, logs.Invalid("", `the body holds more than the {"logs":[...]} object`)
			}
			break
		}
		if err := add(raw, obj); err != nil {
			return nil, err
		}
	}
	if len(entries) == 0 {
		return nil, logs.Invalid("", `the body is empty; send one log entry, {"logs":[...]}, or NDJSON`)
	}
	return entries, nil
}

func (s *Server) tooMany() error {
	return logs.NewError(logs.ErrTooLarge, "", "the body holds more than %d entries; send at most %d entries per request",
		s.opts.MaxIngestEntries, s.opts.MaxIngestEntries)
}

func (s *Server) isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// nextObject reads the next top-level JSON value, which must be an object;
// i is its index for error messages. It returns io.EOF at the end.
func (s *Server) nextObject(dec *json.Decoder, i int) (json.RawMessage, map[string]json.RawMessage, error) {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if err == io.EOF {
			return nil, nil, err
		}
		return nil, nil, s.jsonError(err, fmt.Sprintf("logs[%d]", i))
	}
	obj, err := object(raw, i)
	return raw, obj, err
}

// object reads raw, valid JSON (a json.Decoder read it), as an object,
// shallowly: its members by key, the last of a key given twice (as
// encoding/json would; checkObject refuses them). It scans raw once, with
// the scanner of jsonbody.go: decoding it again with encoding/json cost a
// third of an ingest request's CPU. i is the entry's index for the error.
func object(raw json.RawMessage, i int) (map[string]json.RawMessage, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, logs.Invalid(fmt.Sprintf("logs[%d]", i), "must be a JSON object (a log entry)")
	}
	obj := make(map[string]json.RawMessage, 8)
	if err := members(raw, func(key string, val []byte) error { obj[key] = val; return nil }); err != nil {
		return nil, logs.Invalid(fmt.Sprintf("logs[%d]", i), "must be a JSON object (a log entry)")
	}
	return obj, nil
}

// jsonError turns a decoding error of the body into a client error.
func (s *Server) jsonError(err error, field string) error {
	if s.isTooLarge(err) {
		return s.tooLarge()
	}
	var se *json.SyntaxError
	switch {
	case errors.Is(err, errCorruptGzip):
		return logs.Invalid("Content-Encoding", "says gzip, but the body is corrupt gzip data")
	case errors.As(err, &se):
		return logs.Invalid(field, "is not valid JSON: %s", se.Error())
	case errors.Is(err, os.ErrDeadlineExceeded):
		return logs.Invalid("", "the body did not arrive within %s", s.opts.BodyTimeout)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return logs.Invalid(field, "is not valid JSON: the body ends inside it")
	}
	return &logs.Error{Kind: logs.ErrInvalid, Field: field, Message: "cannot be read", Err: err}
}

// decodeBatch reads the entries of {"logs":[...]} one by one, so that a
// batch of too many entries stops at the limit.
func (s *Server) decodeBatch(raw json.RawMessage, obj map[string]json.RawMessage, add func(json.RawMessage, map[string]json.RawMessage) error) error {
	for _, k := range sortedKeys(obj) {
		if k != "logs" {
			return logs.Invalid(clip(k, 64), `is not a field of the request; send {"logs":[...]}`)
		}
	}
	// Only "logs" is left: refuse it twice (the entries are checked one by one).
	count := 0
	if err := members(raw, func(string, []byte) error { count++; return nil }); err != nil || count != 1 {
		return logs.Invalid("logs", "is given more than once")
	}
	// The body is valid JSON (the decoder read it whole): the entries are
	// found by the scanner, in one pass, not decoded again.
	list := obj["logs"]
	if len(list) == 0 || list[0] != '[' {
		return logs.Invalid("logs", "must be an array of log entries")
	}
	n := 0
	err := elements(list, func(raw []byte) error {
		e, err := object(raw, n)
		if err != nil {
			return err
		}
		if err := add(raw, e); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return logs.Invalid("logs", "must hold at least one entry")
	}
	return nil
}

// entryFields are the JSON fields of a log entry.
var entryFields = []string{"id", "tenantId", "level", "source", "message", "metadata", "createdAt"}

// decodeEntry converts the fields of the i-th entry of a request, raw as
// JSON and obj as its members. It checks JSON types, fields given twice or
// unknown, UTF-8, metadata numbers and the tenant; logstore.Prepare
// (inside the store's Append) validates the values.
func decodeEntry(raw json.RawMessage, obj map[string]json.RawMessage, i int, tenant string) (logs.Entry, error) {
	var e logs.Entry
	prefix := fmt.Sprintf("logs[%d].", i)
	if err := checkObject(raw, prefix); err != nil {
		return e, err
	}
	for _, k := range sortedKeys(obj) {
		if !slices.Contains(entryFields, k) {
			return e, logs.Invalid(prefix+clip(k, 64), "is not a field of a log entry (fields: %s)", strings.Join(entryFields, ", "))
		}
	}
	str := func(k string, dst *string) error {
		raw, ok := obj[k]
		if !ok || string(raw) == "null" {
			return nil
		}
		if len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
			*dst = string(raw[1 : len(raw)-1]) // valid JSON and UTF-8 (checkObject): nothing to unescape
			return nil
		}
		if json.Unmarshal(raw, dst) != nil {
			return logs.Invalid(prefix+k, "must be a string")
		}
		return nil
	}
	var level, createdAt string
	for _, f := range []struct {
		k   string
		dst *string
	}{{"id", &e.ID}, {"tenantId", &e.TenantID}, {"level", &level}, {"source", &e.Source}, {"message", &e.Message}, {"createdAt", &createdAt}} {
		if err := str(f.k, f.dst); err != nil {
			return e, err
		}
	}
	if e.TenantID != "" && e.TenantID != tenant {
		return e, logs.NewError(logs.ErrPermissionDenied, prefix+"tenantId",
			"names another tenant than %s; entries are written to the authenticated tenant only", TenantHeader)
	}
	e.Level = logs.Level(level)
	if createdAt != "" {
		t, err := time.Parse(time.RFC3339Nano, createdAt)
		if err != nil {
			return e, logs.Invalid(prefix+"createdAt", "must be an RFC 3339 timestamp with an offset, such as 2026-03-18T14:32:07Z")
		}
		if t.IsZero() {
			// Year 1 is Go's zero time, which the store reads as "not
			// given" (and would replace with now): refused like any other
			// time before 1970.
			return e, logs.Invalid(prefix+"createdAt", "must be between 1970 and %s from now", logstore.MaxFutureSkew)
		}
		e.CreatedAt = t
	}
	if raw, ok := obj["metadata"]; ok && string(raw) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if len(raw) == 0 || raw[0] != '{' || dec.Decode(&e.Metadata) != nil {
			return e, logs.Invalid(prefix+"metadata", "must be a JSON object")
		}
		if err := uniqueKeys(raw, prefix+"metadata"); err != nil {
			return e, err
		}
		if !finiteNumbers(e.Metadata) {
			return e, logs.Invalid(prefix+"metadata", "holds a number beyond the range of a 64-bit float")
		}
	}
	return e, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
