package logsink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ithbat/logs/logstore"
)

// maxRedirects bounds the redirects a delivery follows.
const maxRedirects = 3

// newClient returns the HTTP client of webhook deliveries: the guard's
// dialer (so every connection, after every redirect, goes to an allowed
// address), no proxy from the environment (a proxy would connect for us,
// past the guard), a timeout on the whole exchange, and redirects
// followed only when they keep the POST and its body (307, 308), stay on
// https, and are few.
func newClient(g *Guard, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            g.Dialer(min(timeout, 10*time.Second)).DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    min(timeout, 10*time.Second),
		ResponseHeaderTimeout:  timeout,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			if req.Method != http.MethodPost {
				return errors.New("a redirect that turns the POST into a GET (301, 302, 303); use 307 or 308")
			}
			if req.URL.User != nil {
				return errors.New("a redirect to a URL with a user name or password")
			}
			switch {
			case req.URL.Scheme == "https":
			case req.URL.Scheme == "http" && g.httpOK():
			default:
				return fmt.Errorf("a redirect to a %s:// URL; only https:// is followed", req.URL.Scheme)
			}
			return nil
		},
	}
}

// messageID is the webhook-id of a batch: the same for the same batch of
// the same stream (receivers may dedupe by it), another for any other
// content (the same records under another filter included).
func messageID(streamID string, first, last logstore.Cursor, body []byte) string {
	h := sha256.New()
	h.Write([]byte(streamID + "|" + first.String() + "|" + last.String() + "|"))
	h.Write(body)
	return "msg_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// postWebhook delivers one body to the stream's URL, signed with its
// secret (and its previous one during a rotation). Any 2xx is success.
// The error's text is for the tenant.
func (m *Manager) postWebhook(ctx context.Context, ls *logstore.LogStream, msgID string, body []byte) error {
	now := m.now()
	secret, err := m.openSecret(ls.Secret)
	if err != nil {
		return err
	}
	sig, err := Sign(secret, msgID, now, body)
	if err != nil {
		return err
	}
	if ls.PreviousSecret != "" && now.Before(ls.PreviousUntil) {
		if prev, err := m.openSecret(ls.PreviousSecret); err == nil {
			if s2, err := Sign(prev, msgID, now, body); err == nil {
				sig += " " + s2
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ls.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the URL cannot be requested: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "ithbat-logs/1 (log stream "+ls.ID+")")
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	resp, err := m.client.Do(req)
	if err != nil {
		return deliveryError(err, m.opts.Timeout)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the receiver answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// deliveryError says in words why a request failed, without the
// server's own details.
func deliveryError(err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, ErrRefused):
		return err
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") || isTimeout(err):
		return fmt.Errorf("the receiver did not answer within %s", timeout)
	}
	return fmt.Errorf("the request failed: %s", clip(err.Error(), 300))
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
