package loghttp_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/logstream"
)

// A stream is a request like any other for the server's middleware: it
// carries the request id and the common headers, and when it ends the
// access log has its line, with its status and tenant.
func TestStreamInAccessLog(t *testing.T) {
	st := openStore(t, "sqlite")
	e := newStreamEnv(t, st, logstream.Options{})
	s := e.openAs(t, "a", "", http.Header{"X-Request-Id": {"stream-access-1"}})
	assert.Equal(t, "stream-access-1", s.resp.Header.Get("X-Request-ID"))
	assert.Equal(t, "nosniff", s.resp.Header.Get("X-Content-Type-Options"))
	s.next(t)
	s.next(t)
	assert.NotContains(t, e.Logs.String(), `"requestId":"stream-access-1"`, "logged while it streams")
	s.close()
	line := regexp.MustCompile(`"msg":"request".*"requestId":"stream-access-1".*"path":"/api/v1/logs/stream".*"status":200.*"tenant":"a"`)
	require.Eventually(t, func() bool { return line.MatchString(e.Logs.String()) },
		10*time.Second, 10*time.Millisecond, "no access log line for the stream")
}
