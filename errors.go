package logs

import (
	"errors"
	"fmt"
)

// ErrorCode is one of the closed set of error categories of the service.
// Its string form is the "code" of the API's error envelope.
type ErrorCode string

// The error codes. loghttp maps each to one HTTP status.
const (
	CodeOK               ErrorCode = "ok"
	CodeInvalid          ErrorCode = "invalid_argument"
	CodeUnauthenticated  ErrorCode = "unauthenticated"
	CodePermissionDenied ErrorCode = "permission_denied"
	CodeNotFound         ErrorCode = "not_found"
	CodeConflict         ErrorCode = "conflict"
	CodeTooLarge         ErrorCode = "payload_too_large"
	CodeRateLimited      ErrorCode = "rate_limited"
	CodeUnavailable      ErrorCode = "unavailable"
	CodeInternal         ErrorCode = "internal"
)

// Sentinel errors, one per code. Wrap them with %w together with the cause.
var (
	ErrInvalid          = &codeError{CodeInvalid}
	ErrUnauthenticated  = &codeError{CodeUnauthenticated}
	ErrPermissionDenied = &codeError{CodePermissionDenied}
	ErrNotFound         = &codeError{CodeNotFound}
	ErrConflict         = &codeError{CodeConflict}
	ErrTooLarge         = &codeError{CodeTooLarge}
	ErrRateLimited      = &codeError{CodeRateLimited}
	ErrUnavailable      = &codeError{CodeUnavailable}
	ErrInternal         = &codeError{CodeInternal}
)

type codeError struct{ code ErrorCode }

func (e *codeError) Error() string { return string(e.code) }

// Code returns the category of err: [CodeOK] for nil, the code of the first
// sentinel found in err's chain, and [CodeInternal] when there is none.
func Code(err error) ErrorCode {
	if err == nil {
		return CodeOK
	}
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	return CodeInternal
}

// Error is the one client error of the service: an error whose Message (and
// Field) are meant for the client, such as "limit: must be an integer from
// 1 to 500".
//
// Kind is one of the sentinels of this package ([ErrInvalid],
// [ErrUnauthenticated], ...) and decides the code, hence the HTTP status.
// Field names the input at fault as the client spelled it ("level",
// "startDate", "logs[3].message", "X-Tenant-ID"), or is empty. Err is the
// cause, for the server's logs: it is never shown to the client.
type Error struct {
	Kind    error
	Field   string
	Message string
	Err     error
}

// NewError returns an *Error of kind about field ("" for none) with a
// formatted message.
func NewError(kind error, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an [ErrInvalid] *Error about field with a formatted
// message.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: ErrInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns Kind and Err, so that [Code] finds Kind first.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// FieldOf returns the field named by the first *Error in err's chain, or ""
// when there is none.
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
