package loghttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ithbat/logs"
)

// ReadyCheck is one thing GET /readyz checks: Check returns nil when Name
// (database, schema, blob ...) is ready.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// readyTimeout bounds each check of /readyz.
const readyTimeout = 5 * time.Second

// readyFor is how long the result of the checks answers /readyz: an
// unauthenticated client that calls it in a loop costs the database one
// round of checks a second, not one per call.
const readyFor = time.Second

// readiness remembers the last round of checks.
type readiness struct {
	mu   sync.Mutex
	at   time.Time
	errs []error
}

// health serves GET /healthz: the process serves. It checks nothing else,
// so that a database outage never has an orchestrator restart every
// replica; /readyz says whether this one can serve.
func (s *Server) health(w http.ResponseWriter, _ *http.Request, _ *call) error {
	writeData(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyResponse is the data of a 200 to GET /readyz.
type readyResponse struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// ready serves GET /readyz: every check of Options.Ready (by default: the
// store answers) passes within readyTimeout. A failure is a 503 whose
// field names the first check that failed, and whose message names each.
func (s *Server) ready(w http.ResponseWriter, r *http.Request, _ *call) error {
	checks := s.opts.Ready
	if len(checks) == 0 {
		checks = []ReadyCheck{{Name: "database", Check: func(ctx context.Context) error {
			_, err := s.store.Snapshot(ctx)
			return err
		}}}
	}
	errs := s.checkReady(r.Context(), checks)
	res := readyResponse{Status: "ok", Checks: map[string]string{}}
	var failed []string
	first := ""
	for i, c := range checks {
		if errs[i] == nil {
			res.Checks[c.Name] = "ok"
			continue
		}
		if first == "" {
			first = c.Name
		}
		failed = append(failed, c.Name)
	}
	if first != "" {
		return &logs.Error{Kind: logs.ErrUnavailable, Field: first,
			Message: fmt.Sprintf("not ready: %s", strings.Join(failed, ", ")), Err: errors.Join(errs...)}
	}
	writeData(w, http.StatusOK, res)
	return nil
}

// checkReady runs checks, or returns the errors of a round less than
// readyFor ago. Callers that come while a round runs wait for it.
func (s *Server) checkReady(ctx context.Context, checks []ReadyCheck) []error {
	rd := &s.readiness
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if !rd.at.IsZero() && time.Since(rd.at) < readyFor {
		return rd.errs
	}
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			// Not the request's context: the result serves others too.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyTimeout)
			defer cancel()
			errs[i] = c.Check(ctx)
		})
	}
	wg.Wait()
	rd.at, rd.errs = time.Now(), errs
	return errs
}
