package loghttp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// envelope is the body of every response: {"success":true,"data":...} or
// {"success":false,"error":{...}}.
type envelope struct {
	Success bool       `json:"success"`
	Data    any        `json:"data,omitempty"`
	Error   *errorBody `json:"error,omitempty"`
}

// writeData writes the success envelope around data with status.
func writeData(w http.ResponseWriter, status int, data any) {
	writeJSON(w, status, envelope{Success: true, Data: data})
}

// writeJSON writes v as the JSON body of a response with status. v must
// encode (the envelope of values this package builds always does); should
// it fail, the client gets a bare 500 envelope.
func writeJSON(w http.ResponseWriter, status int, v any) {
	// No HTML escaping: a download URL reads "&", not "\u0026", as in the
	// API document (the body is JSON, never HTML).
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	var b []byte
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"success":false,"error":{"code":"internal","message":"internal error"}}` + "\n")
	} else {
		b = buf.Bytes()
	}
	if rec := recorderOf(w); rec != nil && rec.writeTimeout > 0 {
		// A client that does not read must not hold the handler and b.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(rec.writeTimeout))
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
