package loghttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ithbat/logs"
)

// statusOf is THE table from error code to HTTP status. Every error the
// package writes goes through it.
var statusOf = map[logs.ErrorCode]int{
	logs.CodeInvalid:          http.StatusBadRequest,
	logs.CodeUnauthenticated:  http.StatusUnauthorized,
	logs.CodePermissionDenied: http.StatusForbidden,
	logs.CodeNotFound:         http.StatusNotFound,
	logs.CodeConflict:         http.StatusConflict,
	logs.CodeTooLarge:         http.StatusRequestEntityTooLarge,
	logs.CodeRateLimited:      http.StatusTooManyRequests,
	logs.CodeUnavailable:      http.StatusServiceUnavailable,
	logs.CodeInternal:         http.StatusInternalServerError,
	codeMethodNotAllowed:      http.StatusMethodNotAllowed,
	codeRangeNotSatisfiable:   http.StatusRequestedRangeNotSatisfiable,
}

// codeMethodNotAllowed is the code of a 405: the path exists, the method
// does not. It is HTTP's own, so it is not one of package logs.
const codeMethodNotAllowed logs.ErrorCode = "method_not_allowed"

// codeRangeNotSatisfiable is the code of a 416: a download's Range lies
// outside the file. HTTP's own, like codeMethodNotAllowed.
const codeRangeNotSatisfiable logs.ErrorCode = "range_not_satisfiable"

// genericMessage is what a client reads for an error that carries no
// message meant for it.
var genericMessage = map[logs.ErrorCode]string{
	logs.CodeInvalid:          "the request is invalid",
	logs.CodeUnauthenticated:  "authentication is required",
	logs.CodePermissionDenied: "permission denied",
	logs.CodeNotFound:         "not found",
	logs.CodeConflict:         "the request conflicts with what is stored",
	logs.CodeTooLarge:         "the request is too large",
	logs.CodeRateLimited:      "too many requests; retry later",
	logs.CodeUnavailable:      "the service is unavailable; retry later",
	logs.CodeInternal:         "internal error",
}

// Status returns the HTTP status of an error code (500 for a code the table
// does not know).
func Status(code logs.ErrorCode) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// errorBody is the "error" object of the failure envelope.
type errorBody struct {
	Code    logs.ErrorCode `json:"code"`
	Message string         `json:"message"`
	Field   string         `json:"field,omitempty"`
}

// public returns what the client may read about err: the code of its
// chain, and the message and field of the *logs.Error in it when that error
// is of the same code (so that a client error wrapped as the cause of a
// server error never shows). A 500 always reads a fixed text.
func public(err error) errorBody {
	code := logs.Code(err)
	if _, ok := statusOf[code]; !ok {
		code = logs.CodeInternal
	}
	body := errorBody{Code: code, Message: genericMessage[code]}
	var pe *logs.Error
	if code != logs.CodeInternal && errors.As(err, &pe) && logs.Code(pe) == code {
		body.Field = pe.Field
		if pe.Message != "" {
			body.Message = pe.Message
		}
	}
	return body
}

// writeError writes err as the failure envelope, with the status of its
// code. Server errors are logged with the request id. When the response has
// already started, err is only logged.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "loghttp: client went away",
			slog.String("requestId", RequestID(r.Context())), slog.Any("err", err))
		return
	}
	s.writeBody(w, r, public(err), err)
}

// writeBody writes the failure envelope around body; err is the cause.
func (s *Server) writeBody(w http.ResponseWriter, r *http.Request, body errorBody, err error) {
	status := Status(body.Code)
	id := RequestID(r.Context())
	if status >= 500 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "loghttp: request failed",
			slog.String("requestId", id), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("code", string(body.Code)),
			slog.Any("err", err))
	} else {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "loghttp: request refused",
			slog.String("requestId", id), slog.String("code", string(body.Code)), slog.Any("err", err))
	}
	if rec := recorderOf(w); rec != nil && rec.started() {
		return
	}
	if body.Code == logs.CodeInternal {
		body.Message = fmt.Sprintf("%s (request id %s)", body.Message, id)
	}
	if body.Code == logs.CodeRateLimited {
		// Every 429 says when to come back: a limit's own wait, else a
		// few seconds (an export's pending jobs, say).
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "5")
		}
		setRetryAfter(w.Header(), err)
	}
	if body.Code == logs.CodeUnauthenticated {
		challenge := `Bearer realm="logs"`
		if r.Header.Get("Authorization") != "" {
			challenge += `, error="invalid_token", error_description="` + quotable(body.Message) + `"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	writeJSON(w, status, envelope{Success: false, Error: &body})
}

// quotable keeps the characters that may stand in a quoted-string of an
// auth-param (RFC 6750 section 3: %x20-21 / %x23-5B / %x5D-7E).
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
