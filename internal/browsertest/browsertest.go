// Package browsertest starts a headless Chromium for tests, driven with
// github.com/chromedp/chromedp: the real browser (Debian's chromium, at
// /usr/bin/chromium or $CHROMIUM) with its own EventSource, fetch and DOM.
//
// When no Chromium is installed the test is skipped, except when CI is set
// (.ci/run installs it), where it fails.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path returns the Chromium binary, or "" when there is none.
func Path() string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	return ""
}

// New starts a browser with one tab and returns its context (the tab's);
// the browser is closed when tb ends. Every chromedp action with that
// context (or one derived from it) runs in the tab.
func New(tb testing.TB) context.Context {
	tb.Helper()
	path := Path()
	if path == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("browsertest: Chromium is required here (CI): install Debian's chromium")
		}
		tb.Skip("browsertest: no Chromium installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	tb.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first action starts the browser, which then lives as long as
	// ctx: it must not have a timeout of its own.
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("browsertest: start %s: %v", path, err)
	}
	return ctx
}

// Eventually evaluates the JavaScript expression js in the tab until it
// yields true, or fails tb after timeout.
func Eventually(tb testing.TB, ctx context.Context, js string, timeout time.Duration, msg string) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		var ok bool
		ok, last = chromedp.Run(c, chromedp.Evaluate[bool](js))
		cancel()
		if last == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond) // polling the page: the condition is the browser's
	}
	tb.Fatalf("browsertest: %s: %q did not become true within %s (last error %v)", msg, js, timeout, last)
}

// Eval evaluates the JavaScript expression js in the tab (awaiting it when
// it is a promise) and returns its value as T, failing tb on an error.
func Eval[T any](tb testing.TB, ctx context.Context, js string) T {
	tb.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.Fatalf("browsertest: %s: %v", js, err)
	}
	return v
}
