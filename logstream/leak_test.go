package logstream_test

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/logstream"
)

// ownGoroutines returns the stacks of the goroutines running code of
// package logstream: the tailer, timers, and the streams that ServeSSE
// serves in the test's handlers. Goroutines of the test itself that wait
// in the package (a Recv) are not counted.
func ownGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "ithbat/logs/logstream.") {
			continue
		}
		if strings.Contains(g, "logstream_test.") && !strings.Contains(g, "ithbat/logs/logstream.ServeSSE(") {
			continue
		}
		out = append(out, g)
	}
	return out
}

// Close leaves no goroutine behind and returns when every stream served by
// ServeSSE has returned, whatever the clients do: read, go away, or never
// read at all.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	store := openStore(t, "sqlite")
	b := newBroadcaster(t, store, logstream.Options{})
	srv := sseServer(t, b, &logstream.SSEOptions{Heartbeat: 20 * time.Millisecond})
	var reading []*client
	for range 6 {
		c := connect(t, srv.URL, "")
		c.next(t)
		reading = append(reading, c)
	}
	for _, c := range reading[:3] {
		require.NoError(t, c.resp.Body.Close()) // gone
	}
	for range 3 { // a request, then never a read
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		_, err = fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { all, _ := b.Streams("a"); return all >= 6 }, 10*time.Second, 10*time.Millisecond)
	appendEntries(t, store, "a", numbered("x", 3)...)
	require.NoError(t, b.Close())
	// A goroutine that signalled its end may still be returning (its
	// deferred calls ran, the stack is unwinding): allow it that moment,
	// not more. A goroutine still at work would stay.
	var left []string
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if left = ownGoroutines(); len(left) == 0 {
			break
		}
	}
	require.Empty(t, left, "Close returned with goroutines of the Broadcaster running")
}
