package loghttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logsink"
)

// maxLogStreamBody bounds the body of a log stream request.
const maxLogStreamBody = 16 << 10

// The fields of the log stream requests, and of their filter.
var (
	createStreamFields = []string{"type", "url", "filter", "batchSize", "format", "gzip", "startDate"}
	patchStreamFields  = []string{"status", "url", "filter", "batchSize", "gzip"}
	streamFilterFields = []string{"level", "source", "search"}
)

// logStreamResponse is a log stream as the API shows it.
type logStreamResponse struct {
	ID            string            `json:"id"`
	Type          string            `json:"type"`
	URL           string            `json:"url"`
	Filter        map[string]string `json:"filter"`
	BatchSize     int               `json:"batchSize"`
	Format        string            `json:"format,omitempty"`
	Gzip          bool              `json:"gzip,omitempty"`
	StartDate     *string           `json:"startDate"`
	Status        string            `json:"status"`
	Reason        string            `json:"reason,omitempty"`
	Delivered     int64             `json:"delivered"`
	Lag           streamLag         `json:"lag"`
	LastError     *streamError      `json:"lastError"`
	LastSuccessAt *string           `json:"lastSuccessAt"`
	FailingSince  *string           `json:"failingSince"`
	CreatedAt     string            `json:"createdAt"`
	UpdatedAt     string            `json:"updatedAt"`
	// Secret is shown once: in the answer of the create and of a
	// rotation.
	Secret string `json:"secret,omitempty"`
}

type streamLag struct {
	Entries int64   `json:"entries"`
	Seconds float64 `json:"seconds"`
}

type streamError struct {
	Message string `json:"message"`
	At      string `json:"at"`
}

func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := logs.FormatTime(t)
	return &s
}

func logStreamView(st logsink.Stream, secret string) logStreamResponse {
	f := map[string]string{}
	for k, v := range st.Filter.Raw() {
		f[k] = v
	}
	v := logStreamResponse{
		ID: st.ID, Type: st.Type, URL: st.URL, Filter: f, BatchSize: st.BatchSize, Format: st.Format, Gzip: st.Gzip,
		StartDate: optTime(st.StartDate), Status: st.Status, Reason: st.Reason, Delivered: st.Delivered,
		Lag:           streamLag{Entries: st.LagEntries, Seconds: float64(int64(st.LagSeconds*1000)) / 1000},
		LastSuccessAt: optTime(st.LastSuccessAt), FailingSince: optTime(st.FailingSince),
		CreatedAt: logs.FormatTime(st.CreatedAt), UpdatedAt: logs.FormatTime(st.UpdatedAt), Secret: secret,
	}
	if st.LastError != "" {
		v.LastError = &streamError{Message: st.LastError, At: logs.FormatTime(st.LastErrorAt)}
	}
	return v
}

func (s *Server) logStreams() (*logsink.Manager, error) {
	if s.opts.LogStreams == nil {
		return nil, logs.NewError(logs.ErrNotFound, "", "log streams are not enabled on this server")
	}
	return s.opts.LogStreams, nil
}

// notFoundStream is the answer for an unknown id and for another
// tenant's, alike.
func notFoundStream(err error) error {
	if logs.Code(err) == logs.CodeNotFound {
		return logs.NewError(logs.ErrNotFound, "", "no log stream with this id")
	}
	return err
}

// readStreamBody reads a log stream request's JSON object.
func (s *Server) readStreamBody(w http.ResponseWriter, r *http.Request, fields []string, example string) (map[string]json.RawMessage, error) {
	if _, err := bodyType(r.Header, false); err != nil {
		return nil, err
	}
	body, err := s.readBody(w, r, maxLogStreamBody)
	if err != nil {
		return nil, err
	}
	return parseObject(body, fields, false, example)
}

func rawString(field string, raw json.RawMessage) (string, error) {
	var v string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
		return "", logs.Invalid(field, "must be a string")
	}
	return v, nil
}

func rawBool(field string, raw json.RawMessage) (bool, error) {
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, logs.Invalid(field, "must be true or false")
}

func rawBatchSize(raw json.RawMessage) (int, error) {
	var n json.Number
	bad := logs.Invalid("batchSize", "must be an integer from 1 to %d", logsink.MaxBatchSize)
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		return 0, bad
	}
	v, err := n.Int64()
	if err != nil || v < 1 || v > logsink.MaxBatchSize {
		return 0, bad
	}
	return int(v), nil
}

// rawStreamFilter reads {"level":...,"source":...,"search":...}: the list's
// parsing and validation, without dates (a stream has startDate instead).
func rawStreamFilter(raw json.RawMessage) (logquery.Filter, error) {
	if string(raw) == "null" {
		return logquery.Filter{}, nil
	}
	if len(raw) == 0 || raw[0] != '{' {
		return logquery.Filter{}, logs.Invalid("filter", "must be an object such as {\"level\":\"error\",\"source\":\"auth\"}")
	}
	vals, err := parseStringObject(raw, streamFilterFields, false, `{"level":"error"}`)
	if err == nil {
		var f logquery.Filter
		f, err = logquery.Raw(vals).Filter()
		f.Page, f.Limit = 0, 0
		if err == nil {
			return f, nil
		}
	}
	var le *logs.Error
	if errors.As(err, &le) {
		field := "filter"
		if le.Field != "" {
			field += "." + le.Field
		}
		return logquery.Filter{}, &logs.Error{Kind: le.Kind, Field: field, Message: le.Message, Err: le.Err}
	}
	return logquery.Filter{}, err
}

// streamFields are the members of a log stream request, each nil when
// absent.
type streamFields struct {
	Type, URL, Format, Status *string
	Filter                    *logquery.Filter
	BatchSize                 *int
	Gzip                      *bool
	StartDate                 *time.Time
}

// decodeStreamFields reads the members of a log stream request: each of
// its type, null being absent (a filter of null is no filter).
func decodeStreamFields(vals map[string]json.RawMessage) (streamFields, error) {
	var f streamFields
	str := func(name string, raw json.RawMessage) (*string, error) {
		v, err := rawString(name, raw)
		return &v, err
	}
	for name, raw := range vals {
		if string(raw) == "null" && name != "filter" {
			continue
		}
		var err error
		switch name {
		case "type":
			f.Type, err = str(name, raw)
		case "url":
			f.URL, err = str(name, raw)
		case "format":
			f.Format, err = str(name, raw)
		case "status":
			f.Status, err = str(name, raw)
		case "filter":
			var v logquery.Filter
			v, err = rawStreamFilter(raw)
			f.Filter = &v
		case "batchSize":
			var n int
			n, err = rawBatchSize(raw)
			f.BatchSize = &n
		case "gzip":
			var b bool
			b, err = rawBool(name, raw)
			f.Gzip = &b
		case "startDate":
			var v string
			var t time.Time
			if v, err = rawString(name, raw); err == nil {
				t, err = logquery.ParseTime(name, v, false)
			}
			f.StartDate = &t
		}
		if err != nil {
			return streamFields{}, err
		}
	}
	return f, nil
}

func deref[T any](p *T) T {
	var v T
	if p != nil {
		v = *p
	}
	return v
}

// createLogStream serves POST /api/v1/log-streams (log:admin).
func (s *Server) createLogStream(w http.ResponseWriter, r *http.Request, c *call) error {
	m, err := s.logStreams()
	if err != nil {
		return err
	}
	vals, err := s.readStreamBody(w, r, createStreamFields, `{"type":"webhook","url":"https://siem.example.com/hook","filter":{"level":"error"}}`)
	if err != nil {
		return err
	}
	f, err := decodeStreamFields(vals)
	if err != nil {
		return err
	}
	st, secret, err := m.Create(r.Context(), c.Tenant, logsink.Config{
		Type: deref(f.Type), URL: deref(f.URL), Filter: deref(f.Filter), BatchSize: deref(f.BatchSize),
		Format: deref(f.Format), Gzip: deref(f.Gzip), StartDate: deref(f.StartDate),
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/log-streams/"+st.ID)
	writeData(w, http.StatusCreated, logStreamView(st, secret))
	return nil
}

// listLogStreams serves GET /api/v1/log-streams (log:admin).
func (s *Server) listLogStreams(w http.ResponseWriter, r *http.Request, c *call) error {
	m, err := s.logStreams()
	if err != nil {
		return err
	}
	all, err := m.List(r.Context(), c.Tenant)
	if err != nil {
		return err
	}
	out := make([]logStreamResponse, 0, len(all))
	for _, st := range all {
		out = append(out, logStreamView(st, ""))
	}
	writeData(w, http.StatusOK, out)
	return nil
}

// oneStream returns the Manager and the {id} of the path, checked for
// shape so that a hostile one goes no further than a 404.
func (s *Server) oneStream(r *http.Request) (*logsink.Manager, string, error) {
	m, err := s.logStreams()
	if err != nil {
		return nil, "", err
	}
	id := mux.Vars(r)["id"]
	if len(id) != 39 || !strings.HasPrefix(id, "ls-") {
		return nil, "", logs.NewError(logs.ErrNotFound, "", "no log stream with this id")
	}
	return m, id, nil
}

// getLogStream serves GET /api/v1/log-streams/{id} (log:admin).
func (s *Server) getLogStream(w http.ResponseWriter, r *http.Request, c *call) error {
	m, id, err := s.oneStream(r)
	if err != nil {
		return err
	}
	st, err := m.Get(r.Context(), c.Tenant, id)
	if err != nil {
		return notFoundStream(err)
	}
	writeData(w, http.StatusOK, logStreamView(st, ""))
	return nil
}

// patchLogStream serves PATCH /api/v1/log-streams/{id} (log:admin):
// {"status":"paused"} pauses, {"status":"active"} resumes from where
// delivery stopped; filter, url, batchSize and gzip change from the next
// batch on.
func (s *Server) patchLogStream(w http.ResponseWriter, r *http.Request, c *call) error {
	m, id, err := s.oneStream(r)
	if err != nil {
		return err
	}
	vals, err := s.readStreamBody(w, r, patchStreamFields, `{"status":"paused"}`)
	if err != nil {
		return err
	}
	for _, name := range patchStreamFields {
		if raw, ok := vals[name]; ok && string(raw) == "null" && name != "filter" {
			return logs.Invalid(name, "must not be null")
		}
	}
	f, err := decodeStreamFields(vals)
	if err != nil {
		return err
	}
	ch := logsink.Change{Status: f.Status, URL: f.URL, Filter: f.Filter, BatchSize: f.BatchSize, Gzip: f.Gzip}
	st, err := m.Update(r.Context(), c.Tenant, id, ch)
	if err != nil {
		return notFoundStream(err)
	}
	writeData(w, http.StatusOK, logStreamView(st, ""))
	return nil
}

// rotateLogStreamSecret serves POST /api/v1/log-streams/{id}/secret
// (log:admin): a new signing secret, shown once; the previous one signs
// too for logsink.RotationGrace.
func (s *Server) rotateLogStreamSecret(w http.ResponseWriter, r *http.Request, c *call) error {
	m, id, err := s.oneStream(r)
	if err != nil {
		return err
	}
	if r.ContentLength > 0 {
		body, err := s.readBody(w, r, maxLogStreamBody)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(body)) > 0 {
			return logs.Invalid("", "this request takes no body")
		}
	}
	st, secret, err := m.RotateSecret(r.Context(), c.Tenant, id)
	if err != nil {
		return notFoundStream(err)
	}
	writeData(w, http.StatusOK, logStreamView(st, secret))
	return nil
}

// deleteLogStream serves DELETE /api/v1/log-streams/{id} (log:admin).
func (s *Server) deleteLogStream(w http.ResponseWriter, r *http.Request, c *call) error {
	m, id, err := s.oneStream(r)
	if err != nil {
		return err
	}
	if err := m.Delete(r.Context(), c.Tenant, id); err != nil {
		return notFoundStream(err)
	}
	writeData(w, http.StatusOK, map[string]any{"id": id, "deleted": true})
	return nil
}
