package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ithbat/logs/loghttp/jwtauth"
)

// ingestTenant receives the one-entry ingest on both sides, so that the
// lists measured do not change.
const ingestTenant = "bench-ingest"

// logsd is the real server under test: a child process on loopback.
type logsd struct {
	base   string // http://127.0.0.1:port
	secret []byte
	cmd    *exec.Cmd
	exited chan struct{}
	dir    string
	db     *pgxpool.Pool // its database, for its size and its consumers' progress
	client *http.Client

	mu     sync.Mutex
	tokens map[string]string
}

// startLogsd builds logsd (unless c.Logsd names a binary) and starts it on
// a free loopback port against dsn.
func startLogsd(ctx context.Context, c *config, dsn string, logf func(string, ...any)) (*logsd, error) {
	dir, err := os.MkdirTemp("", "logsbench-")
	if err != nil {
		return nil, err
	}
	s := &logsd{dir: dir, tokens: map[string]string{}, exited: make(chan struct{})}
	bin := c.Logsd
	if bin == "" {
		bin = filepath.Join(dir, "logsd")
		logf("building logsd")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/ithbat/logs/cmd/logsd")
		if out, err := build.CombinedOutput(); err != nil {
			s.stop()
			return nil, fmt.Errorf("go build logsd (run logsbench inside the module, or give -logsd): %w\n%s", err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.stop()
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	var b [32]byte
	_, _ = rand.Read(b[:])
	s.secret = []byte(hex.EncodeToString(b[:]))
	s.base = "http://" + addr
	logFile, err := os.Create(filepath.Join(dir, "logsd.log"))
	if err != nil {
		s.stop()
		return nil, err
	}
	s.cmd = exec.Command(bin,
		"--addr", addr, "--data-dir", filepath.Join(dir, "data"), "--database-url", dsn,
		// The dataset reaches back 90 days, the default retention: keep a
		// margin so that its oldest entries stay in it during the run.
		"--retention", "2400h", "--retention-max", "2400h",
		"--stream-max", strconv.Itoa(c.Streams+100), "--stream-max-per-tenant", strconv.Itoa(c.Streams+100))
	// The benchmark measures throughput: the per-tenant rate limits (100
	// requests/s, 20,000 entries/s by default) are off. Environment, not
	// flags, so that a logsd from before them (-logsd) starts too.
	s.cmd.Env = append(os.Environ(), "LOGSD_JWT_SECRET="+string(s.secret), "LOGSD_TENANT_RPS=0", "LOGSD_TENANT_INGEST_EPS=0")
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		s.stop()
		return nil, fmt.Errorf("start logsd: %w", err)
	}
	go func() { _ = s.cmd.Wait(); logFile.Close(); close(s.exited) }()
	s.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		s.stop()
		return nil, err
	}
	s.db = pool
	for deadline := time.Now().Add(2 * time.Minute); ; {
		resp, err := s.client.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-s.exited:
			s.stop()
			return nil, fmt.Errorf("logsd exited: %s", s.logTail())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("logsd did not answer /healthz: %s", s.logTail())
		}
	}
	logf("logsd serving on %s (pid %d)", s.base, s.cmd.Process.Pid)
	return s, nil
}

func (s *logsd) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "logsd.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// stop ends logsd (SIGINT, then a kill after 15 s) and removes its folder.
func (s *logsd) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.db != nil {
		s.db.Close()
	}
	os.RemoveAll(s.dir)
}

func (s *logsd) token(tenant string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[tenant]; ok {
		return t
	}
	t, err := jwtauth.Mint(s.secret, jwtauth.Grant{Tenant: tenant, Permissions: []string{"log:read", "log:write"}, TTL: 24 * time.Hour})
	if err != nil {
		panic(err) // the tenant ids are ours
	}
	s.tokens[tenant] = t
	return t
}

// do sends one request and decodes the envelope's data into out (may be nil).
func (s *logsd) do(ctx context.Context, method, path, tenant string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token(tenant))
	req.Header.Set("X-Tenant-ID", tenant)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %.500s", method, path, resp.Status, b)
	}
	if out == nil {
		return nil
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return json.Unmarshal(env.Data, out)
}

type apiEntry struct {
	Level     string          `json:"level"`
	Source    string          `json:"source"`
	Message   string          `json:"message"`
	Metadata  json.RawMessage `json:"metadata"`
	CreatedAt string          `json:"createdAt"`
}

func toAPI(e *entry) apiEntry {
	return apiEntry{Level: e.level, Source: e.source, Message: e.message, Metadata: json.RawMessage(e.metadata),
		CreatedAt: e.createdAt.Format(time.RFC3339Nano)}
}

// ingest posts one batch of one tenant's entries.
func (s *logsd) ingest(ctx context.Context, b []entry) error {
	body := struct {
		Logs []apiEntry `json:"logs"`
	}{Logs: make([]apiEntry, len(b))}
	for i := range b {
		body.Logs[i] = toAPI(&b[i])
	}
	buf, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return s.do(ctx, http.MethodPost, "/api/v1/logs", tenantID(b[0].tenant), buf, http.StatusCreated, nil)
}

func (s *logsd) ingestOne(ctx context.Context, n int64) error {
	body := fmt.Sprintf(`{"level":"info","source":"auth","message":"User u%d signed in from 10.0.0.1","metadata":{"ip":"10.0.0.1"}}`, n)
	return s.do(ctx, http.MethodPost, "/api/v1/logs", ingestTenant, []byte(body), http.StatusCreated, nil)
}

// waitConsumers waits until every consumer (the rollups) has been at the
// head of the feed after since: the figures are those of a caught-up server.
func (s *logsd) waitConsumers(ctx context.Context, since time.Time) error {
	for deadline := time.Now().Add(30 * time.Minute); ; {
		var n int
		var head int64
		err := s.db.QueryRow(ctx, "SELECT count(*), coalesce(min(head_at), 0) FROM log_consumers").Scan(&n, &head)
		if err != nil {
			return fmt.Errorf("logsd's consumers: %w", err)
		}
		if n > 0 && head >= since.UnixMicro() {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("logsd's consumers did not catch up within 30 minutes")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// diskBytes is the size of every table of logsd's database with its
// indexes and TOAST: the log table's partitions, the tenants' keys, the
// rollups, the verifiable log's leaves and the rest.
func (s *logsd) diskBytes(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
		JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = current_schema() AND c.relkind IN ('r', 'm')`).Scan(&n)
	return n, err
}

// diskParts is the size of each table of logsd's database with its
// indexes (partitions summed into their table), largest first.
func (s *logsd) diskParts(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT coalesce(p.relname, c.relname), sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c
		JOIN pg_namespace ns ON ns.oid = c.relnamespace
		LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent
		WHERE ns.nspname = current_schema() AND c.relkind IN ('r', 'm') GROUP BY 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, rows.Err()
}

type listAnswer struct {
	Total      int64             `json:"total"`
	Logs       []json.RawMessage `json:"logs"`
	NextCursor *string           `json:"nextCursor"`
}

func (s *logsd) list(ctx context.Context, tenant string, q url.Values) (listAnswer, error) {
	var a listAnswer
	err := s.do(ctx, http.MethodGet, "/api/v1/logs?"+q.Encode(), tenant, nil, http.StatusOK, &a)
	return a, err
}

// export submits an export of the tenant's entries, waits until it is
// ready, downloads it, and returns its records.
func (s *logsd) export(ctx context.Context, tenant, format string) (int64, error) {
	var job struct {
		ExportID         string  `json:"exportId"`
		Status           string  `json:"status"`
		EstimatedRecords int64   `json:"estimatedRecords"`
		DownloadURL      *string `json:"downloadUrl"`
		Error            string  `json:"error"`
	}
	if err := s.do(ctx, http.MethodPost, "/api/v1/logs/export", tenant, []byte(`{"format":"`+format+`"}`), http.StatusAccepted, &job); err != nil {
		return 0, err
	}
	for job.Status == "processing" {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if err := s.do(ctx, http.MethodGet, "/api/v1/logs/export/"+job.ExportID, tenant, nil, http.StatusOK, &job); err != nil {
			return 0, err
		}
	}
	if job.Status != "ready" || job.DownloadURL == nil {
		return 0, fmt.Errorf("export %s: %s %s", job.ExportID, job.Status, job.Error)
	}
	u := *job.DownloadURL
	if !strings.HasPrefix(u, "http") {
		u = s.base + u
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("download of export %s: %s", job.ExportID, resp.Status)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return job.EstimatedRecords, nil
}
