//go:build unix

package loghttp_test

import (
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/loghttp/jwtauth"
)

// A client that asks for a page and never reads the answer does not hold
// the handler (and the page in memory) forever: the write is given up
// after WriteTimeout. The server's socket has a tiny send buffer and the
// client's a tiny receive buffer, so a 1.5 MB page blocks the write.
func TestStalledReaderIsCutOff(t *testing.T) {
	st := openStore(t, "sqlite")
	msg := strings.Repeat("m", 30<<10)
	es := make([]logs.Entry, 50)
	for i := range es {
		es[i] = logs.Entry{Level: logs.LevelInfo, Source: "big", Message: fmt.Sprintf("%d %s", i, msg)}
	}
	_, err := st.Append(t.Context(), "acme", es)
	require.NoError(t, err)

	v, err := jwtauth.New(&jwtauth.Options{Secret: secret, Issuer: issuer, Audience: audience})
	require.NoError(t, err)
	logBuf := &logBuffer{}
	srv := httptest.NewUnstartedServer(loghttp.New(st, &loghttp.Options{Authenticator: v, WriteTimeout: 300 * time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(logBuf, nil))}))
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)

	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := dialer.DialContext(t.Context(), "tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "GET /api/v1/logs?limit=50 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-Tenant-ID: acme\r\n\r\n",
		token(t, "acme", loghttp.PermRead))
	require.NoError(t, err)
	// The client reads nothing. The handler returns once the write is given up.
	require.Eventually(t, func() bool { return strings.Contains(logBuf.String(), `"path":"/api/v1/logs"`) },
		20*time.Second, 20*time.Millisecond, "the handler is still writing to a client that does not read")
}
