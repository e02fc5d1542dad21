package loghttp

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ithbat/logs"
)

func TestPublic(t *testing.T) {
	secret := errors.New("dial 10.1.2.3: password=hunter2")
	tests := []struct {
		name string
		err  error
		want errorBody
	}{
		{"field error", fmt.Errorf("store: %w", logs.Invalid("level", "must be one of info, warn, error")),
			errorBody{Code: logs.CodeInvalid, Message: "must be one of info, warn, error", Field: "level"}},
		{"other kind with field", logs.NewError(logs.ErrPermissionDenied, "X-Tenant-ID", "is not the tenant of the token"),
			errorBody{Code: logs.CodePermissionDenied, Message: "is not the tenant of the token", Field: "X-Tenant-ID"}},
		{"conflict", logs.NewError(logs.ErrConflict, "logs[0].id", "was stored with other content"),
			errorBody{Code: logs.CodeConflict, Message: "was stored with other content", Field: "logs[0].id"}},
		{"cause not shown", &logs.Error{Kind: logs.ErrUnavailable, Message: "the store does not answer", Err: secret},
			errorBody{Code: logs.CodeUnavailable, Message: "the store does not answer"}},
		{"no message", &logs.Error{Kind: logs.ErrNotFound, Field: "exportId"},
			errorBody{Code: logs.CodeNotFound, Message: "not found", Field: "exportId"}},
		{"plain sentinel", fmt.Errorf("x: %w: %w", logs.ErrRateLimited, secret),
			errorBody{Code: logs.CodeRateLimited, Message: "too many requests; retry later"}},
		{"client error as the cause of a server error", fmt.Errorf("x: %w: %w", logs.ErrInternal, logs.Invalid("level", "secret detail")),
			errorBody{Code: logs.CodeInternal, Message: "internal error"}},
		{"client error of another code inside", fmt.Errorf("x: %w: %w", logs.ErrUnavailable, logs.Invalid("level", "detail")),
			errorBody{Code: logs.CodeUnavailable, Message: "the service is unavailable; retry later"}},
		{"internal with a message", &logs.Error{Kind: logs.ErrInternal, Message: "secret detail"},
			errorBody{Code: logs.CodeInternal, Message: "internal error"}},
		{"no code", secret, errorBody{Code: logs.CodeInternal, Message: "internal error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, public(tt.err))
		})
	}
}
