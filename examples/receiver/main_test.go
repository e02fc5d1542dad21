package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ithbat/logs/logsink"
)

func TestReceiver(t *testing.T) {
	secret := logsink.NewSecret()
	var out strings.Builder
	srv := httptest.NewServer(&receiver{secret: secret, out: &out, seen: map[string]bool{}})
	defer srv.Close()
	body := `{"logs":[{"id":"0192f7a0-3b1c-7d2e-8f00-1a2b3c4d5e6f","tenantId":"acme","level":"error","source":"auth","message":"login failed","metadata":{},"createdAt":"2026-12-01T10:00:00.000000Z"}]}`
	post := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("webhook-id", "msg_1")
		req.Header.Set("webhook-signature", sig)
		now := time.Now()
		s, _ := logsink.Sign(secret, "msg_1", now, []byte(body))
		if sig == "" {
			req.Header.Set("webhook-signature", s)
		}
		req.Header.Set("webhook-timestamp", itoa(now.Unix()))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post("v1,AAAA"); c != http.StatusUnauthorized {
		t.Fatalf("a bad signature got %d", c)
	}
	for range 2 {
		if c := post(""); c != http.StatusNoContent {
			t.Fatalf("a good delivery got %d", c)
		}
	}
	if got := strings.Count(out.String(), "login failed"); got != 1 {
		t.Fatalf("printed %d times, want once:\n%s", got, out.String())
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
