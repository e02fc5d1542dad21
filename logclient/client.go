package logclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
)

// Options configure a Client. The zero value (or nil) gives the defaults.
type Options struct {
	// HTTPClient makes the requests; http.DefaultClient by default. Its
	// Timeout, when set, also cuts streams and downloads: leave it zero.
	HTTPClient *http.Client
	// UserAgent is sent with every request; "logclient" by default.
	UserAgent string
	// MaxResponseBytes bounds a JSON answer (a page of 500 large entries
	// fits); 512 MiB by default.
	MaxResponseBytes int64
}

// Client calls one logsd (or a load balancer in front of several) for one
// tenant with one token.
type Client struct {
	base   *url.URL
	token  string
	tenant string
	http   *http.Client
	ua     string
	max    int64
}

// New returns a client of the server at baseURL (http or https, with or
// without the path /api/v1 that every route starts with), sending token as
// the bearer token and tenant as X-Tenant-ID. opts may be nil.
func New(baseURL, token, tenant string, opts *Options) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, logs.Invalid("url", "must be an http:// or https:// URL of a logsd, such as http://127.0.0.1:8080; got %q", baseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, logs.Invalid("url", "must be a plain server URL without credentials, query or fragment")
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v1")
	if tenant == "" {
		return nil, logs.Invalid("tenant", "is required (the X-Tenant-ID of every request)")
	}
	if err := logs.ValidateTenant("tenant", tenant); err != nil {
		return nil, err
	}
	if strings.ContainsAny(token, "\r\n") {
		return nil, logs.Invalid("token", "must be one line")
	}
	c := &Client{base: u, token: strings.TrimSpace(token), tenant: tenant, http: http.DefaultClient, ua: "logclient", max: 512 << 20}
	if opts != nil {
		if opts.HTTPClient != nil {
			c.http = opts.HTTPClient
		}
		if opts.UserAgent != "" {
			c.ua = opts.UserAgent
		}
		if opts.MaxResponseBytes > 0 {
			c.max = opts.MaxResponseBytes
		}
	}
	return c, nil
}

// Tenant is the tenant the client acts for.
func (c *Client) Tenant() string { return c.tenant }

// BaseURL is the server's URL, without /api/v1.
func (c *Client) BaseURL() string { return c.base.String() }

// endpoint is the URL of path (which starts with /api/v1) with query q.
func (c *Client) endpoint(path string, q url.Values) string {
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	return u.String()
}

// newRequest makes a request with the client's headers.
func (c *Client) newRequest(ctx context.Context, method, rawURL string, body io.Reader, contentType string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, fmt.Errorf("logclient: %s %s: %w", method, rawURL, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("X-Tenant-ID", c.tenant)
	req.Header.Set("User-Agent", c.ua)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// send makes the request; an error is a transport error (wrapping
// logs.ErrUnavailable) or the context's.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		// The query of a download URL is its signature, a credential:
		// keep every query out of errors (and the logs they end in).
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = (&url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host, Path: req.URL.Path}).String()
		}
		return nil, fmt.Errorf("logclient: %s %s: %w: %w", req.Method, req.URL.Path, logs.ErrUnavailable, err)
	}
	return resp, nil
}

// do makes a JSON request and decodes the data of a success envelope
// into out (nil to discard it). A failure is an *Error.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte, contentType string, out any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := c.newRequest(ctx, method, c.endpoint(path, q), rd, contentType)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, c.errorOf(resp)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.max+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return resp, ctxErr
		}
		return resp, fmt.Errorf("logclient: %s %s: reading the answer: %w: %w", method, path, logs.ErrUnavailable, err)
	}
	if int64(len(raw)) > c.max {
		return resp, badAnswer(resp, "the answer is larger than %d bytes", c.max)
	}
	var env struct {
		Success *bool           `json:"success"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Success == nil || !*env.Success {
		return resp, badAnswer(resp, "the answer is not a success envelope {\"success\":true,\"data\":...}")
	}
	if out != nil {
		dec := json.NewDecoder(bytes.NewReader(env.Data))
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			return resp, badAnswer(resp, "the answer's data cannot be read: %v", err)
		}
	}
	return resp, nil
}

// Error is an answer of the server that is not a success.
type Error struct {
	Status     int            // the HTTP status
	Code       logs.ErrorCode // the envelope's code, or one that follows from the status
	Message    string         // the envelope's message
	Field      string         // the input at fault, when the server named one
	RequestID  string         // X-Request-ID of the answer: the server logged the request under it
	RetryAfter time.Duration  // Retry-After of a 429 or 503, else 0
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "logs server: %d %s: ", e.Status, e.Code)
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Message)
	if e.RequestID != "" {
		b.WriteString(" (request id " + e.RequestID + ")")
	}
	return b.String()
}

// Unwrap returns the sentinel of package logs of the error's code.
func (e *Error) Unwrap() error {
	if s, ok := sentinels[e.Code]; ok {
		return s
	}
	return logs.ErrInternal
}

// Temporary reports whether the same request may succeed later: 429, 5xx.
func (e *Error) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

var sentinels = map[logs.ErrorCode]error{
	logs.CodeInvalid: logs.ErrInvalid, logs.CodeUnauthenticated: logs.ErrUnauthenticated,
	logs.CodePermissionDenied: logs.ErrPermissionDenied, logs.CodeNotFound: logs.ErrNotFound,
	logs.CodeConflict: logs.ErrConflict, logs.CodeTooLarge: logs.ErrTooLarge, logs.CodeRateLimited: logs.ErrRateLimited,
	logs.CodeUnavailable: logs.ErrUnavailable, logs.CodeInternal: logs.ErrInternal,
}

// statusCodes are the codes of the statuses an answer without an
// envelope may have (a proxy's, a load balancer's).
var statusCodes = map[int]logs.ErrorCode{
	http.StatusBadRequest: logs.CodeInvalid, http.StatusUnauthorized: logs.CodeUnauthenticated,
	http.StatusForbidden: logs.CodePermissionDenied, http.StatusNotFound: logs.CodeNotFound,
	http.StatusConflict: logs.CodeConflict, http.StatusRequestEntityTooLarge: logs.CodeTooLarge,
	http.StatusTooManyRequests: logs.CodeRateLimited, http.StatusBadGateway: logs.CodeUnavailable,
	http.StatusServiceUnavailable: logs.CodeUnavailable, http.StatusGatewayTimeout: logs.CodeUnavailable,
}

// codeOf is the code of a status without an envelope: another 4xx is
// invalid_argument, another 5xx internal.
func codeOf(status int) logs.ErrorCode {
	if c, ok := statusCodes[status]; ok {
		return c
	}
	if status >= 400 && status < 500 {
		return logs.CodeInvalid
	}
	return logs.CodeInternal
}

// errorOf reads the failure envelope of resp (at most 1 MiB of it).
func (c *Client) errorOf(resp *http.Response) error {
	e := &Error{Status: resp.StatusCode, Code: codeOf(resp.StatusCode), RequestID: oneLine(resp.Header.Get("X-Request-ID"), 200)}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if n, err := strconv.Atoi(ra); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(min(n, 3600)) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			e.RetryAfter = min(max(time.Until(t), 0), time.Hour)
		}
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var env struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &env) == nil && env.Error != nil && env.Error.Code != "" {
		e.Message, e.Field = oneLine(env.Error.Message, 2000), oneLine(env.Error.Field, 200)
		if _, ok := sentinels[logs.ErrorCode(env.Error.Code)]; ok {
			e.Code = logs.ErrorCode(env.Error.Code)
		}
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return e
	}
	e.Message = fmt.Sprintf("the server answered %s without an error envelope", resp.Status)
	return e
}

// badAnswer is the error of a success status whose body is not what the
// API promises.
func badAnswer(resp *http.Response, format string, args ...any) error {
	return &Error{Status: resp.StatusCode, Code: logs.CodeInternal, Message: "bad answer: " + fmt.Sprintf(format, args...),
		RequestID: oneLine(resp.Header.Get("X-Request-ID"), 200)}
}

// oneLine clips what a server sent to one printable line.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

// filterValues are the list's parameters of f's conditions.
func filterValues(f logquery.Filter) url.Values {
	q := url.Values{}
	for k, v := range f.Raw() {
		q.Set(k, v)
	}
	return q
}

// Backoff is a growing wait between retries: from Min, doubled each time
// up to Max, with up to a fifth of jitter.
type Backoff struct {
	Min, Max time.Duration
	n        int
}

// Next returns the next wait.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 200 * time.Millisecond
	}
	if hi < lo {
		hi = max(lo, 30*time.Second)
	}
	d := lo << min(b.n, 20)
	if d > hi || d <= 0 {
		d = hi
	}
	b.n++
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// Reset starts again from Min.
func (b *Backoff) Reset() { b.n = 0 }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryable reports whether err may go away on a retry of the request.
func retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Temporary()
	}
	return errors.Is(err, logs.ErrUnavailable)
}

// retryAfter is the wait the server asked for with err, or 0.
func retryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
