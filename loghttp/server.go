package loghttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/cors"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/secrets"
	"github.com/ithbat/logs/logexport"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logsink"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstream"
	"github.com/ithbat/logs/logtree"
)

// Defaults of [Options].
const (
	DefaultMaxIngestEntries = 10_000
	DefaultMaxIngestBytes   = 10 << 20
	DefaultBodyTimeout      = time.Minute
	DefaultWriteTimeout     = time.Minute
)

// Options configure a Server. The zero value (or nil) means the defaults.
type Options struct {
	// Authenticator identifies the caller of every request but /healthz.
	// Nil refuses them all with 401.
	Authenticator Authenticator

	// Logger receives the access log (Info), refusals (Debug) and server
	// errors with their cause (Error). Nil discards.
	Logger *slog.Logger

	// MaxIngestEntries bounds the entries of one ingest request
	// (default DefaultMaxIngestEntries).
	MaxIngestEntries int

	// MaxIngestBytes bounds the body of one ingest request
	// (default DefaultMaxIngestBytes).
	MaxIngestBytes int64

	// BodyTimeout bounds the time to read a request body
	// (default DefaultBodyTimeout).
	BodyTimeout time.Duration

	// WriteTimeout bounds the time to write a JSON answer, so that a
	// client that does not read cannot hold a handler and its answer in
	// memory (default DefaultWriteTimeout). Streams and downloads have
	// their own limits.
	WriteTimeout time.Duration

	// Export serves the export endpoints (POST /api/v1/logs/export, GET
	// /api/v1/logs/export/{exportId}) and the downloads of the files it
	// signs itself. Nil: those routes answer 404.
	Export *logexport.Exporter

	// Stream serves the live stream (GET /api/v1/logs/stream) and its
	// tickets. Nil: those routes answer 404.
	Stream *logstream.Broadcaster

	// Settings serves GET and PATCH /api/v1/logs/settings: a tenant's own
	// retention (log:admin). Nil: those routes answer 404.
	Settings logstore.Settings

	// LogStreams serves /api/v1/log-streams: a tenant's log streams
	// (log:admin). Nil: those routes answer 404.
	LogStreams *logsink.Manager

	// Metrics receive the server's metrics, served at GET /metrics as
	// MetricsAccess allows. Nil: the Server makes its own (NewMetrics).
	Metrics *Metrics

	// MetricsAccess says who may read GET /metrics. The zero value: clients
	// on a loopback address only.
	MetricsAccess MetricsAccess

	// Ready are the checks of GET /readyz. Nil: the store answers.
	Ready []ReadyCheck

	// Limits are the per-tenant rate limits. The zero value: the defaults.
	Limits Limits

	// NoCompression turns off compressed answers. By default JSON answers
	// and downloads of 1 KiB or more are gzip when the request's
	// Accept-Encoding allows it (streams and /metrics never are: the
	// stream must flush each event, and /metrics compresses itself).
	NoCompression bool

	// CORSOrigins are the origins (https://console.example.com) whose web
	// pages may call the API from a browser; "*" allows any. None: no CORS
	// headers, and a preflight OPTIONS is a 405 as any unknown method.
	CORSOrigins []string

	// Cursors seals the list's cursors (nextCursor, cursor=). Every
	// replica of one API must have the same key. Nil: a random key of this
	// Server only (cursors do not survive a restart or another replica).
	Cursors *logquery.Cursors

	// Console serves the web console (logconsole.Handler): GET and HEAD of
	// "/" and of the paths under "/console/", without authentication (the
	// page asks for a token and calls the API with it). Nil: those paths
	// answer 404 like any unknown path.
	Console http.Handler

	// Tree serves the verifiable log: GET /api/v1/logs/checkpoints (and
	// /key, /consistency), GET /api/v1/logs/proof and POST
	// /api/v1/logs/verify. Nil: those routes answer 404.
	Tree *logtree.Log
}

// Server is the HTTP API. Create it with New.
type Server struct {
	store   logstore.Store
	opts    Options
	auth    Authenticator
	log     *slog.Logger
	router  *mux.Router
	handler http.Handler
	paths   []pathRoute // for the Allow header of 405s

	metrics        *Metrics
	metricsHandler http.Handler
	compress       func(http.Handler) http.Handler // gzip answers when the client asks
	requestLimits  *limiters                       // requests per second of each tenant
	ingestLimits   *limiters                       // entries per second of each tenant
	readiness      readiness                       // the last round of /readyz
	verifies       verifying                       // the verifications running
}

// pathRoute matches the path of a route, whatever the method.
type pathRoute struct {
	method string
	route  *mux.Route
}

// consolePrefix is where Options.Console's files live (logconsole.Prefix).
const consolePrefix = "/console/"

// public marks a route that needs no authentication.
const publicRoute = "-"

// route is one line of the route table. A GET route also answers HEAD
// (HTTP requires it), unless getOnly.
type route struct {
	method  string
	path    string
	perm    string // a permission, or publicRoute
	h       handlerFunc
	getOnly bool
	plain   bool     // never compressed (a stream; /metrics compresses itself)
	query   []string // the query parameters it takes; any other is refused
}

// call is what the Server knows about an authorised request.
type call struct {
	Principal Principal
	Tenant    string     // X-Tenant-ID, equal to Principal.Tenant
	Query     url.Values // the query string, only parameters of the route
}

// The query parameters of the routes that take any (the others take none).
// A parameter that is not in its route's list is a 400 naming it, so that a
// typo never widens a filter: a new parameter is one more name here.
var (
	listParams   = slices.Concat(logquery.Fields, logquery.PagingFields, []string{"cursor"})
	streamParams = slices.Concat(logquery.Fields, []string{"ticket", "lastEventId"})
	statsParams  = slices.Concat(logquery.Fields, []string{"interval"})
	// downloadParams are what fileblob.URLSignerHMAC writes (and signs).
	downloadParams = []string{"obj", "expiry", "method", "contentType", "signature"}
)

// handlerFunc serves one route. An error it returns is written as the
// failure envelope (or only logged, once the response has started).
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// routes is the route table. A new resource adds a line here, a file with
// its handlers, and a field in Options when it needs a collaborator.
func (s *Server) routes() []route {
	return []route{
		{method: http.MethodGet, path: "/healthz", perm: publicRoute, h: s.health},
		{method: http.MethodGet, path: "/readyz", perm: publicRoute, h: s.ready},
		// /metrics has an access rule of its own (Options.MetricsAccess).
		{method: http.MethodGet, path: "/metrics", perm: publicRoute, h: s.serveMetrics, plain: true},
		{method: http.MethodGet, path: "/api/v1/openapi.json", perm: publicRoute, h: s.openAPI},
		{method: http.MethodGet, path: "/api/v1/logs", perm: PermRead, h: s.listLogs, query: listParams},
		{method: http.MethodPost, path: "/api/v1/logs", perm: PermWrite, h: s.ingestLogs},
		{method: http.MethodPost, path: OTLPPath, perm: PermWrite, h: s.ingestOTLP},
		{method: http.MethodGet, path: "/api/v1/logs/stats", perm: PermRead, h: s.logStats, query: statsParams},
		{method: http.MethodGet, path: "/api/v1/logs/settings", perm: PermAdmin, h: s.getSettings},
		{method: http.MethodPatch, path: "/api/v1/logs/settings", perm: PermAdmin, h: s.patchSettings},
		// The stream authenticates itself: bearer token (log:read) or
		// ticket. HEAD would open a stream that sends nothing.
		{method: http.MethodGet, path: "/api/v1/logs/stream", perm: publicRoute, h: s.streamLogs, getOnly: true, plain: true, query: streamParams},
		{method: http.MethodPost, path: "/api/v1/logs/stream/tickets", perm: PermRead, h: s.createStreamTicket},
		{method: http.MethodPost, path: "/api/v1/logs/export", perm: PermRead, h: s.createExport},
		// The signed query is the credential of a download; it comes before
		// {exportId}, which would match "download".
		{method: http.MethodGet, path: logexport.DownloadPath, perm: publicRoute, h: s.downloadExport, query: downloadParams},
		{method: http.MethodGet, path: "/api/v1/logs/export/{exportId}", perm: PermRead, h: s.getExport},
		{method: http.MethodPost, path: "/api/v1/log-streams", perm: PermAdmin, h: s.createLogStream},
		{method: http.MethodGet, path: "/api/v1/log-streams", perm: PermAdmin, h: s.listLogStreams},
		{method: http.MethodGet, path: "/api/v1/log-streams/{id}", perm: PermAdmin, h: s.getLogStream},
		{method: http.MethodPatch, path: "/api/v1/log-streams/{id}", perm: PermAdmin, h: s.patchLogStream},
		{method: http.MethodDelete, path: "/api/v1/log-streams/{id}", perm: PermAdmin, h: s.deleteLogStream},
		{method: http.MethodPost, path: "/api/v1/log-streams/{id}/secret", perm: PermAdmin, h: s.rotateLogStreamSecret},
		{method: http.MethodGet, path: "/api/v1/logs/checkpoints", perm: PermRead, h: s.listCheckpoints, query: checkpointParams},
		{method: http.MethodGet, path: "/api/v1/logs/checkpoints/key", perm: PermRead, h: s.checkpointKey},
		{method: http.MethodGet, path: "/api/v1/logs/checkpoints/consistency", perm: PermRead, h: s.consistency, query: consistencyParams},
		{method: http.MethodGet, path: "/api/v1/logs/proof", perm: PermRead, h: s.proof, query: proofParams},
		{method: http.MethodPost, path: "/api/v1/logs/verify", perm: PermRead, h: s.verify},
	}
}

// Route describes one route of the route table: its method (a GET route
// also answers HEAD, but the stream), path template, the permission it
// needs ("" for none: public, or a credential of its own), and the query
// parameters it takes.
type Route struct {
	Method     string
	Path       string
	Permission string
	Query      []string
}

// Routes lists the route table, in its order. The OpenAPI document names
// exactly these (a test checks it).
func (s *Server) Routes() []Route {
	var out []Route
	for _, rt := range s.routes() {
		perm := rt.perm
		if perm == publicRoute {
			perm = ""
		}
		out = append(out, Route{Method: rt.method, Path: rt.path, Permission: perm, Query: slices.Clone(rt.query)})
	}
	return out
}

// New returns the HTTP API over store. opts may be nil.
func New(store logstore.Store, opts *Options) *Server {
	s := &Server{store: store}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.MaxIngestEntries <= 0 {
		s.opts.MaxIngestEntries = DefaultMaxIngestEntries
	}
	if s.opts.MaxIngestBytes <= 0 {
		s.opts.MaxIngestBytes = DefaultMaxIngestBytes
	}
	if s.opts.BodyTimeout <= 0 {
		s.opts.BodyTimeout = DefaultBodyTimeout
	}
	if s.opts.WriteTimeout <= 0 {
		s.opts.WriteTimeout = DefaultWriteTimeout
	}
	s.auth = s.opts.Authenticator
	if s.auth == nil {
		s.auth = refuseAll
	}
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.metrics = s.opts.Metrics
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	s.metricsHandler = promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn), Registry: s.metrics.reg})
	if s.opts.Stream != nil {
		s.metrics.streams(s.opts.Stream)
	}
	s.compress = func(h http.Handler) http.Handler { return h }
	if !s.opts.NoCompression {
		gz, err := gzhttp.NewWrapper(gzhttp.MinSize(1024), gzhttp.CompressionLevel(gzip.DefaultCompression))
		if err != nil {
			panic(fmt.Sprintf("loghttp: gzhttp: %v", err))
		}
		s.compress = func(h http.Handler) http.Handler { return gz(h) }
	}
	lim := s.opts.Limits
	s.requestLimits = newLimiters(orDefault(lim.RPS, DefaultTenantRPS), int(orDefault(float64(lim.Burst), DefaultTenantBurst)))
	s.ingestLimits = newLimiters(orDefault(lim.IngestEPS, DefaultTenantIngestEPS), int(orDefault(lim.IngestEPS, DefaultTenantIngestEPS)))
	if s.opts.Cursors == nil {
		s.opts.Cursors, _ = logquery.NewCursors(secrets.Random(32))
	}

	s.router = mux.NewRouter()
	s.router.SkipClean(true)
	for _, rt := range s.routes() {
		if rt.perm == "" {
			panic(fmt.Sprintf("loghttp: route %s %s has no permission", rt.method, rt.path))
		}
		methods := []string{rt.method}
		if rt.method == http.MethodGet && !rt.getOnly {
			methods = append(methods, http.MethodHead)
		}
		for _, m := range methods {
			s.router.Methods(m).Path(rt.path).Handler(s.wrap(rt))
			s.paths = append(s.paths, pathRoute{m, mux.NewRouter().SkipClean(true).NewRoute().Path(rt.path)})
		}
	}
	if s.opts.Console != nil {
		// The console's own files: no token, any query string (the page's
		// filter lives in it), the security headers of the console.
		// Its requests are counted under the route "/" and "/console/"
		// (metrics, access log), whatever the file.
		console := func(route string) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if rec := recorderOf(w); rec != nil {
					rec.route = route
				}
				q, _ := url.ParseQuery(r.URL.RawQuery)
				if !s.tokenInURL(w, r, q) {
					s.opts.Console.ServeHTTP(w, r)
				}
			})
		}
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			s.router.Methods(m).Path("/").Handler(console("/"))
			s.router.Methods(m).PathPrefix(consolePrefix).Handler(console(consolePrefix))
			s.paths = append(s.paths,
				pathRoute{m, mux.NewRouter().SkipClean(true).NewRoute().Path("/")},
				pathRoute{m, mux.NewRouter().SkipClean(true).NewRoute().PathPrefix(consolePrefix)})
		}
	}
	// mux answers 404 instead of 405 when a later route has the method but
	// not the path, so both cases are decided here from the route table.
	unmatched := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allowed := s.allowed(r)
		if len(allowed) == 0 {
			s.writeError(w, r, logs.NewError(logs.ErrNotFound, "", "no such endpoint: %s", clip(r.URL.Path, 200)))
			return
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		msg := fmt.Sprintf("method %s is not allowed here; allowed: %s", clip(r.Method, 20), strings.Join(allowed, ", "))
		s.writeBody(w, r, errorBody{Code: codeMethodNotAllowed, Message: msg}, errors.New(msg))
	})
	s.router.NotFoundHandler = unmatched
	s.router.MethodNotAllowedHandler = unmatched
	var inner http.Handler = s.router
	if len(s.opts.CORSOrigins) > 0 {
		inner = cors.New(cors.Options{
			AllowedOrigins: s.opts.CORSOrigins,
			AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPatch},
			AllowedHeaders: []string{"Authorization", TenantHeader, "Last-Event-ID", "Content-Type", "Content-Encoding", "X-Request-ID"},
			ExposedHeaders: []string{"X-Request-ID", "Retry-After", "Location"},
			MaxAge:         600,
		}).Handler(s.router)
	}
	s.handler = s.outer(inner)
	return s
}

// orDefault is v, def when v is 0, and 0 (off) when v is negative.
func orDefault(v, def float64) float64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// wrap turns a route into an http.Handler: a bearer token in the URL is
// refused, then the request is authorised, then its query string is
// checked against the route's parameters, then the handler runs.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorderOf(w)
		if rec != nil {
			rec.route = rt.path
		}
		q, qerr := url.ParseQuery(r.URL.RawQuery)
		if s.tokenInURL(w, r, q) {
			return
		}
		c := &call{Query: q}
		if rt.perm != publicRoute {
			p, tenant, err := s.authorize(w, r, rt.perm)
			if rec != nil {
				rec.tenant = tenant
			}
			if err == nil {
				err = s.limitRequest(tenant)
			}
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			c.Principal, c.Tenant = p, tenant
		}
		if err := checkQuery(q, qerr, rt.query); err != nil {
			s.writeError(w, r, err)
			return
		}
		serve := func(w http.ResponseWriter, r *http.Request) {
			if err := rt.h(w, r, c); err != nil {
				s.writeError(w, r, err)
			}
		}
		if rt.plain {
			serve(w, r)
			return
		}
		s.compress(http.HandlerFunc(serve)).ServeHTTP(w, r)
	})
}

// tokenInURL refuses a request with access_token in its query string
// (before authentication: the client learns at once that the token it put
// in the URL is not one) and reports whether it did.
func (s *Server) tokenInURL(w http.ResponseWriter, r *http.Request, q url.Values) bool {
	if _, ok := q["access_token"]; !ok {
		return false
	}
	s.writeError(w, r, logs.Invalid("access_token", "a bearer token is never accepted in a URL; "+
		"send it in the Authorization header (a browser's EventSource: exchange it for a stream ticket with POST /api/v1/logs/stream/tickets)"))
	return true
}

// checkQuery refuses a malformed query string (qerr) and a parameter that
// is not one of allowed, naming it.
func checkQuery(q url.Values, qerr error, allowed []string) error {
	if qerr != nil {
		return logs.Invalid("", "the query string is malformed")
	}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		switch {
		case slices.Contains(allowed, name):
		case name == "":
			return logs.Invalid("", "the query string has a parameter without a name")
		case len(allowed) == 0:
			return logs.Invalid(clip(name, 64), "is not a parameter of this endpoint, which takes none")
		default:
			return logs.Invalid(clip(name, 64), "is not a parameter of this endpoint (its parameters: %s)", strings.Join(allowed, ", "))
		}
	}
	return nil
}

// allowed lists the methods of the routes whose path matches r.
func (s *Server) allowed(r *http.Request) []string {
	var methods []string
	for _, p := range s.paths {
		if p.route.Match(r, new(mux.RouteMatch)) && !slices.Contains(methods, p.method) {
			methods = append(methods, p.method)
		}
	}
	return methods
}

// outer runs around every request, matched or not: it sets the request id
// and the headers every response carries, turns a panic into a 500, and
// writes the access log.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !saneRequestID(id) {
			id = uuid.NewString()
		}
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		h := w.Header()
		h.Set("X-Request-ID", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		rec := &recorder{ResponseWriter: w, writeTimeout: s.opts.WriteTimeout}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.LogAttrs(r.Context(), slog.LevelError, "loghttp: panic",
					slog.String("requestId", id), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				s.writeError(rec, r, fmt.Errorf("loghttp: panic: %v", v))
			}
			took := time.Since(start)
			s.metrics.observe(rec.route, r.Method, rec.status, took)
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("requestId", id), slog.String("method", clip(r.Method, 20)), slog.String("route", rec.route),
				slog.String("path", clip(r.URL.Path, 200)),
				slog.Int("status", rec.status), slog.String("tenant", rec.tenant),
				slog.Duration("duration", took))
		}()
		next.ServeHTTP(rec, r)
	})
}

type requestIDKey struct{}

// RequestID returns the id of the request that ctx belongs to ("" outside
// a Server's handlers).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// saneRequestID reports whether a client's X-Request-ID may be reused.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:+=/-", c) >= 0) {
			return false
		}
	}
	return true
}

// recorder remembers the status of a response and whether it started.
type recorder struct {
	http.ResponseWriter
	status       int
	tenant       string
	route        string        // the path template of the route, "" for none
	writeTimeout time.Duration // Options.WriteTimeout, for writeJSON
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends buffered data to the client (for streams).
func (w *recorder) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *recorder) started() bool { return w.status != 0 }

// recorderOf finds the Server's recorder under w (a compressing writer
// may stand between), or nil.
func recorderOf(w http.ResponseWriter) *recorder {
	for {
		if rec, ok := w.(*recorder); ok {
			return rec
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
}

// clip shortens s to at most n bytes for messages and logs.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// readBody reads the body of a small JSON request: at most max bytes
// (413 beyond), within BodyTimeout (400 after).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	tooLarge := logs.NewError(logs.ErrTooLarge, "", "the body is larger than %d bytes", max)
	if r.ContentLength > max {
		return nil, tooLarge
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.opts.BodyTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(innermost(w), r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, tooLarge
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, logs.Invalid("", "the body did not arrive within %s", s.opts.BodyTimeout)
		}
		return nil, &logs.Error{Kind: logs.ErrInvalid, Message: "the body could not be read", Err: err}
	}
	_ = rc.SetReadDeadline(time.Time{})
	return body, nil
}
