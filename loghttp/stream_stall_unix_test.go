//go:build unix

package loghttp_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logclient/sse"
	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/loghttp/jwtauth"
	"github.com/ithbat/logs/logstream"
)

// smallBuffers sets tiny socket buffers, so that a peer that stops reading
// blocks the writer after a few kilobytes.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// A client that stops reading does not delay another client, and loses
// nothing once it reads again. The server's sockets have a tiny send
// buffer and the stalled client's a tiny receive buffer, and it does not
// read at all: the server's writes to it block after a few kilobytes,
// while the stream carries about 1 MB.
func TestStreamStalledClient(t *testing.T) {
	st := openStore(t, "sqlite")
	b, err := logstream.New(st, &logstream.Options{Key: streamKey, Buffer: 16, Poll: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	v, err := jwtauth.New(&jwtauth.Options{Secret: secret, Issuer: issuer, Audience: audience})
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(loghttp.New(st, &loghttp.Options{Authenticator: v, Stream: b}))
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = b.Close() })
	e := &streamEnv{env: &env{URL: srv.URL, Store: st}, B: b}

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
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/api/v1/logs/stream", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token(t, "a", loghttp.PermRead))
	req.Header.Set("X-Tenant-ID", "a")
	stalled, err := client.Do(req)
	require.NoError(t, err)
	defer stalled.Body.Close()
	require.Equal(t, http.StatusOK, stalled.StatusCode)

	fast := e.openAs(t, "a", "", nil)
	fast.next(t)
	fast.next(t)
	msg := strings.Repeat("m", 4<<10)
	var ids []string
	for round := range 5 {
		es := make([]logs.Entry, 50)
		for i := range es {
			es[i] = logs.Entry{Level: logs.LevelInfo, Source: "bulk", Message: fmt.Sprintf("%d-%d %s", round, i, msg)}
		}
		stored, err := st.Append(t.Context(), "a", es)
		require.NoError(t, err)
		for _, x := range stored {
			ids = append(ids, x.ID)
		}
		assert.Equal(t, entryIDs(stored), entryIDs(fast.entries(t, len(stored))), "round %d: the fast client is not held back", round)
	}

	r := sse.NewReader(stalled.Body)
	var got []string
	for len(got) < len(ids) {
		b, err := r.Next()
		require.NoError(t, err, "after %d events", len(got))
		if b.Dispatched {
			got = append(got, decodeEvent(t, b).ID)
		}
	}
	assert.Equal(t, ids, got, "the stalled client gets everything, in order")
}
