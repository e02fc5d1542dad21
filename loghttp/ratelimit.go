package loghttp

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ithbat/logs"
)

// Defaults of the rate limits of [Options].
const (
	DefaultTenantRPS       = 100
	DefaultTenantBurst     = 200
	DefaultTenantIngestEPS = 20_000
)

// Limits are the rate limits of each tenant, token buckets of
// golang.org/x/time/rate: one tenant at its limit never slows another.
// A negative field turns that limit off; zero takes the default.
type Limits struct {
	// RPS is the requests per second of a tenant, every authenticated
	// request counted (default DefaultTenantRPS), and Burst how many may
	// come at once (default DefaultTenantBurst).
	RPS   float64
	Burst int
	// IngestEPS is the entries per second a tenant may ingest, through
	// either path (default DefaultTenantIngestEPS); a request may carry
	// one second's worth.
	IngestEPS float64
}

// maxLimiters is the number of tenants whose buckets are kept; beyond it,
// the full buckets (tenants idle for a while) are forgotten.
const maxLimiters = 10_000

// limiters are the buckets of one kind, by tenant.
type limiters struct {
	mu    sync.Mutex
	limit rate.Limit
	burst int
	m     map[string]*rate.Limiter
}

func newLimiters(perSecond float64, burst int) *limiters {
	if perSecond <= 0 {
		return nil
	}
	return &limiters{limit: rate.Limit(perSecond), burst: max(burst, 1), m: map[string]*rate.Limiter{}}
}

func (l *limiters) get(tenant string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m[tenant]
	if !ok {
		if len(l.m) >= maxLimiters {
			now := time.Now()
			for t, x := range l.m {
				if x.TokensAt(now) >= float64(l.burst) {
					delete(l.m, t)
				}
			}
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[tenant] = lim
	}
	return lim
}

// take takes n tokens of tenant's bucket now, or none and returns the
// error to answer: 429 with the wait, or 413 when n can never fit.
func (l *limiters) take(tenant string, n int, what string) error {
	if l == nil {
		return nil
	}
	if n > l.burst {
		return logs.NewError(logs.ErrTooLarge, "", "the request holds %d %s; this tenant may send at most %d per second", n, what, l.burst)
	}
	now := time.Now()
	res := l.get(tenant).ReserveN(now, n)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return &rateLimited{wait: d, what: what, limit: float64(l.limit)}
	}
	return nil
}

// rateLimited is a 429: the tenant is over a limit until wait has passed.
type rateLimited struct {
	wait  time.Duration
	what  string
	limit float64
}

func (e *rateLimited) Error() string {
	return "loghttp: rate limited: " + e.what
}

func (e *rateLimited) Unwrap() error {
	return logs.NewError(logs.ErrRateLimited, "", "this tenant is over its limit of %g %s per second; retry after %d s",
		e.limit, e.what, e.retryAfter())
}

// retryAfter is the wait in whole seconds, rounded up: at least 1.
func (e *rateLimited) retryAfter() int {
	return max(1, int(math.Ceil(e.wait.Seconds())))
}

// setRetryAfter sets the Retry-After header of a 429 caused by a limit.
func setRetryAfter(h http.Header, err error) {
	var rl *rateLimited
	if errors.As(err, &rl) {
		h.Set("Retry-After", strconv.Itoa(rl.retryAfter()))
	}
}

// limitRequest takes one request of tenant's request budget.
func (s *Server) limitRequest(tenant string) error {
	err := s.requestLimits.take(tenant, 1, "requests")
	if err != nil {
		s.metrics.rateLimited.WithLabelValues("requests").Inc()
	}
	return err
}

// limitIngest takes n entries of tenant's ingest budget.
func (s *Server) limitIngest(tenant string, n int) error {
	err := s.ingestLimits.take(tenant, n, "entries")
	var rl *rateLimited
	if errors.As(err, &rl) {
		s.metrics.rateLimited.WithLabelValues("ingest").Inc()
	}
	return err
}
