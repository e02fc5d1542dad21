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

// FieldError is an [ErrInvalid] error about one input field. Field is the
// name the client used ("level", "startDate", "logs[3].message", ...).
type FieldError struct {
	Field string
	Msg   string
}

// Invalid returns a *FieldError for field with a formatted message.
func Invalid(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Unwrap makes every FieldError an [ErrInvalid].
func (e *FieldError) Unwrap() error { return ErrInvalid }

// FieldOf returns the field named by the first *FieldError in err's chain,
// or "" when there is none.
func FieldOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}
