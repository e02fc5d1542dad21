//go:build unix

package logstream_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logstream"
)

// smallSendBuffers gives the server's sockets a tiny send buffer, so that a
// client that stops reading blocks the server's writes after a few
// kilobytes.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// dialSmallReceive connects to addr with a tiny receive buffer.
func dialSmallReceive(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.DialContext(t.Context(), "tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// A client that stopped reading, with the server's write to it blocked,
// holds Close for a short while only, though the stream's WriteTimeout is
// an hour: Close cuts the deadline of the write that waits. The stream
// carries about 1 MB; a second client reads it all, so that by then the
// first stream's writes have long filled the few kilobytes of the sockets'
// buffers.
func TestSSECloseWithStalledClient(t *testing.T) {
	t.Run("write deadlines", func(t *testing.T) { testCloseWithStalledClient(t, nil) })
	// A ResponseWriter that cannot set write deadlines cannot be cut
	// short: Close does not wait for its stream.
	t.Run("no write deadlines", func(t *testing.T) {
		testCloseWithStalledClient(t, func(w http.ResponseWriter) http.ResponseWriter { return flushOnly{w} })
	})
}

// flushOnly hides every optional interface of a ResponseWriter but Flush.
type flushOnly struct{ w http.ResponseWriter }

func (f flushOnly) Header() http.Header         { return f.w.Header() }
func (f flushOnly) Write(b []byte) (int, error) { return f.w.Write(b) }
func (f flushOnly) WriteHeader(code int)        { f.w.WriteHeader(code) }
func (f flushOnly) Flush()                      { _ = http.NewResponseController(f.w).Flush() }

func testCloseWithStalledClient(t *testing.T, wrap func(http.ResponseWriter) http.ResponseWriter) {
	store := openStore(t, "sqlite")
	b := newBroadcaster(t, store, logstream.Options{})
	h := sseHandler(b, &logstream.SSEOptions{Heartbeat: time.Hour, WriteTimeout: time.Hour})
	if wrap != nil {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { inner.ServeHTTP(wrap(w), r) })
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = smallSendBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)

	stalled := dialSmallReceive(t, srv.Listener.Addr().String())
	_, err := fmt.Fprint(stalled, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	reader := connect(t, srv.URL, "")
	reader.next(t)
	reader.next(t)
	require.Eventually(t, func() bool { _, n := b.Streams("a"); return n == 2 }, 10*time.Second, 10*time.Millisecond)

	msg := strings.Repeat("m", 4<<10)
	es := make([]logs.Entry, 250)
	for i := range es {
		es[i] = logs.Entry{Level: logs.LevelInfo, Source: "bulk", Message: fmt.Sprintf("%d %s", i, msg)}
	}
	_, err = store.Append(t.Context(), "a", es)
	require.NoError(t, err)
	reader.events(t, len(es))

	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Close is held by a stream whose client does not read")
	}
	require.Equal(t, "shutdown", endReason(t, reader.readEnd(t)))
}
