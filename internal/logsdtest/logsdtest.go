// Package logsdtest runs the real logsd binary for end-to-end tests of its
// clients: built once per test process from this module's cmd/logsd,
// started on 127.0.0.1 with a scratch database (internal/testdb) and a
// fixed JWT secret, stopped and restarted on the same address, and a
// proxy in front of it that cuts connections where a test says.
package logsdtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/loghttp/jwtauth"
)

// Secret is the JWT secret every logsd of this package serves with.
const Secret = "logsdtest-secret-0123456789abcdef-0123456789"

var (
	binMu   sync.Mutex
	binDir  string
	binDone = map[string]string{}
)

// Main runs the tests of m and removes the binaries built for them.
// Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	binMu.Lock()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	binMu.Unlock()
	os.Exit(code)
}

// moduleRoot is the folder of this module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside a module")
	}
	return filepath.Dir(mod), nil
}

// Binary builds ./cmd/<name> of this module once per process and returns
// its path. Tests calling it are skipped with -short.
func Binary(tb testing.TB, name string) string {
	tb.Helper()
	return BinaryIn(tb, ".", "./cmd/"+name)
}

// BinaryIn builds the package pkg (such as ./tail) of the module in the
// folder dir of this module (such as examples, a module of its own), once
// per process, with the race detector when the tests have it (but for
// logsd), and returns its path. Tests calling it are skipped with
// -short.
func BinaryIn(tb testing.TB, dir, pkg string) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("builds and runs binaries")
	}
	binMu.Lock()
	defer binMu.Unlock()
	key := dir + " " + pkg
	if p, ok := binDone[key]; ok {
		return p
	}
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	if binDir == "" {
		if binDir, err = os.MkdirTemp("", "logsdtest-bin-"); err != nil {
			tb.Fatal(err)
		}
	}
	p := filepath.Join(binDir, strings.NewReplacer("/", "_", ".", "_", " ", "_").Replace(key))
	args := []string{"build", "-o", p}
	if raceEnabled && pkg != "./cmd/logsd" {
		// The clients run with the race detector when their tests do;
		// logsd is not theirs to check (its own tests do) and stays fast.
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = filepath.Join(root, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build %s in %s: %v\n%s", pkg, dir, err, out)
	}
	binDone[key] = p
	return p
}

// Daemon is a logsd process.
type Daemon struct {
	URL     string // http://127.0.0.1:port
	Addr    string
	Backend string
	env     []string
	bin     string
	cmd     *exec.Cmd
	log     *SyncBuffer
	exited  chan struct{}
}

// Start runs logsd on a fresh database of backend ("sqlite" or
// "postgres") with env added to its environment (LOGSD_* settings), and
// stops it when tb ends.
func Start(tb testing.TB, backend string, env map[string]string) *Daemon {
	tb.Helper()
	bin := Binary(tb, "logsd")
	dbURL := testdb.URL(tb, backend)
	dir := tb.TempDir()
	e := append(os.Environ(),
		"LOGSD_DATA_DIR="+dir, "LOGSD_DATABASE_URL="+dbURL, "LOGSD_JWT_SECRET="+Secret,
		"LOGSD_JWKS_URL=", "LOGSD_PUBLIC_URL=", "LOGSD_BLOB_URL=", "LOGSD_ADMIN_DATABASE_URL=")
	for k, v := range env {
		e = append(e, k+"="+v)
	}
	d := &Daemon{Backend: backend, env: e, bin: bin, log: &SyncBuffer{}}
	d.start(tb, "127.0.0.1:0")
	tb.Cleanup(func() { d.Stop(tb) })
	return d
}

var servingRE = regexp.MustCompile(`serving the Logs API" addr=(\S+)`)

func (d *Daemon) start(tb testing.TB, addr string) {
	tb.Helper()
	cmd := exec.Command(d.bin, "--addr", addr)
	cmd.Env = d.env
	cmd.Dir = tb.TempDir()
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		tb.Fatalf("logsdtest: start logsd: %v", err)
	}
	d.cmd, d.exited = cmd, make(chan struct{})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			_, _ = d.log.Write([]byte(line + "\n"))
			if m := servingRE.FindStringSubmatch(line); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
		close(d.exited)
	}()
	select {
	case a := <-found:
		d.Addr, d.URL = a, "http://"+a
	case <-d.exited:
		tb.Fatalf("logsdtest: logsd exited at start:\n%s", d.log.String())
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		tb.Fatalf("logsdtest: logsd did not start:\n%s", d.log.String())
	}
}

// Log is what logsd wrote to stderr so far.
func (d *Daemon) Log() string { return d.log.String() }

// Stop stops logsd gracefully (SIGTERM), killing it after 30 s.
func (d *Daemon) Stop(tb testing.TB) {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
	d.cmd = nil
}

// Kill stops logsd at once (SIGKILL): no end event, connections cut.
func (d *Daemon) Kill(tb testing.TB) {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
	d.cmd = nil
}

// Restart starts logsd again on the same address and database.
func (d *Daemon) Restart(tb testing.TB) {
	tb.Helper()
	d.Stop(tb)
	var err error
	for range 50 { // the port may linger a moment
		var l net.Listener
		if l, err = net.Listen("tcp", d.Addr); err == nil {
			_ = l.Close()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("logsdtest: the address %s stays taken: %v", d.Addr, err)
	}
	d.start(tb, d.Addr)
}

// Token returns a token for tenant with the permissions (log:read when
// none), valid an hour.
func Token(tb testing.TB, tenant string, perms ...string) string {
	tb.Helper()
	if len(perms) == 0 {
		perms = []string{"log:read"}
	}
	tok, err := jwtauth.Mint([]byte(Secret), jwtauth.Grant{Tenant: tenant, Permissions: perms, TTL: time.Hour, Subject: "logsdtest"})
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// SyncBuffer is a bytes.Buffer safe for a process's output and a test
// reading it at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Proxy forwards TCP connections to a target and cuts them on request.
type Proxy struct {
	URL    string
	l      net.Listener
	target string

	mu    sync.Mutex
	conns map[net.Conn]net.Conn
	cut   []byte // cut the next answer that holds this, extra bytes after it
	extra int
	cutC  chan struct{}
	wg    sync.WaitGroup
}

// NewProxy forwards to target (host:port) until tb ends.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{URL: "http://" + l.Addr().String(), l: l, target: target, conns: map[net.Conn]net.Conn{}}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(func() {
		_ = l.Close()
		p.CutAll()
		p.wg.Wait()
	})
	return p
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c] = s
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(s, c); _ = s.Close() }()
		go func() { defer p.wg.Done(); p.down(c, s) }()
	}
}

// down copies the server's bytes to the client, cutting both when an armed
// pattern passes.
func (p *Proxy) down(c, s net.Conn) {
	defer func() {
		_ = c.Close()
		_ = s.Close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	var tail []byte // the end of what passed, for a pattern split between reads
	for {
		n, err := s.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			p.mu.Lock()
			pat, extra, done := p.cut, p.extra, p.cutC
			p.mu.Unlock()
			if pat != nil {
				hay := append(tail, chunk...)
				if i := bytes.Index(hay, pat); i >= 0 {
					end := i + len(pat) + extra - len(tail)
					end = max(0, min(end, len(chunk)))
					_, _ = c.Write(chunk[:end])
					p.mu.Lock()
					if p.cutC == done {
						p.cut, p.cutC = nil, nil
						close(done)
					}
					p.mu.Unlock()
					return
				}
				tail = hay[max(0, len(hay)-len(pat)):]
				tail = append([]byte(nil), tail...)
			}
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// CutAt arms a cut: the next answer bytes holding pattern pass up to
// extra bytes after it, then that connection is closed. The channel is
// closed once it happened.
func (p *Proxy) CutAt(pattern string, extra int) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.extra, p.cutC = []byte(pattern), extra, make(chan struct{})
	return p.cutC
}

// CutAll closes every open connection.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c, s := range p.conns {
		_ = c.Close()
		_ = s.Close()
	}
}

// Wait waits for ch or fails the test after a minute.
func Wait(tb testing.TB, ch <-chan struct{}, what string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	select {
	case <-ch:
	case <-ctx.Done():
		tb.Fatalf("logsdtest: %s did not happen within a minute", what)
	}
}
