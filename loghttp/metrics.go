package loghttp

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logconsume"
	"github.com/ithbat/logs/logstream"
)

// Metrics are the Prometheus metrics of a Server, on a registry of their
// own (never the global one): the Server's requests, ingest and streams,
// and what the parts around it report through the hooks below (store
// errors, export jobs, consumer lag, retention runs). Create them with
// NewMetrics; a Server given none makes its own. Safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	ingested    *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	streamEnds  *prometheus.CounterVec
	storeErrors *prometheus.CounterVec
	exportJobs  *prometheus.CounterVec
	exportRows  prometheus.Counter
	retention   *prometheus.CounterVec
	purged      prometheus.Counter
	purgeTime   prometheus.Histogram
}

// NewMetrics returns metrics on a new registry that already holds the Go
// runtime and process collectors.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{reg: reg}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logsd_http_requests_total",
		Help: "HTTP requests by route (the route's path template; unmatched for none), method and status."}, []string{"route", "method", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "logsd_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request (a stream: its whole life), by route and method.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, []string{"route", "method"})
	m.ingested = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logsd_ingested_entries_total",
		Help: "Log entries stored, by ingest path: api (POST /api/v1/logs) or otlp (POST /otlp/v1/logs)."}, []string{"path"})
	m.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logsd_otlp_rejected_records_total",
		Help: "OTLP log records refused (reported to the sender as a partial success)."}, nil)
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logsd_rate_limited_requests_total",
		Help: "Requests answered 429 rate_limited, by limit: requests or ingest."}, []string{"limit"})
	m.streamEnds = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logsd_stream_ends_total",
		Help: "Live streams ended or refused, by reason (the reason of event: end, or disconnected)."}, []string{"reason"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logsd_store_errors_total",
		Help: "Database errors that were not the client's fault, by store operation and code (internal, unavailable)."}, []string{"op", "code"})
	m.exportJobs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logsd_export_jobs_total",
		Help: "Export job events by status: submitted, ready, failed, retry (an attempt failed), released (given back at shutdown)."}, []string{"status"})
	m.exportRows = prometheus.NewCounter(prometheus.CounterOpts{Name: "logsd_export_rows_total",
		Help: "Entries written into export files that became ready."})
	m.retention = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logsd_retention_runs_total",
		Help: "Retention purges by result: ok or error."}, []string{"result"})
	m.purged = prometheus.NewCounter(prometheus.CounterOpts{Name: "logsd_retention_purged_entries_total",
		Help: "Entries removed by the retention purge."})
	m.purgeTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "logsd_retention_run_duration_seconds",
		Help: "Time of one retention purge.", Buckets: prometheus.ExponentialBuckets(0.01, 4, 8)})
	reg.MustRegister(m.requests, m.duration, m.ingested, m.rejected, m.rateLimited, m.streamEnds, m.storeErrors,
		m.exportJobs, m.exportRows, m.retention, m.purged, m.purgeTime)
	return m
}

// Registry is the registry of the metrics, for an embedding program's own
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// StoreError counts a database error of operation op (for
// bunstore.Options.OnError).
func (m *Metrics) StoreError(op string, code logs.ErrorCode) {
	m.storeErrors.WithLabelValues(op, string(code)).Inc()
}

// ExportJob counts an export job event (for logexport.Options.OnJob):
// status is submitted, ready, failed, retry or released; records counts for
// ready.
func (m *Metrics) ExportJob(status string, records int64) {
	m.exportJobs.WithLabelValues(status).Inc()
	if status == "ready" && records > 0 {
		m.exportRows.Add(float64(records))
	}
}

// RetentionRun counts a retention purge (for
// logstore.RetentionOptions.OnPurge).
func (m *Metrics) RetentionRun(removed int64, took time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.retention.WithLabelValues(result).Inc()
	if removed > 0 {
		m.purged.Add(float64(removed))
	}
	m.purgeTime.Observe(took.Seconds())
}

// StreamEnded counts a live stream's end (for logstream.Options.OnEnd).
func (m *Metrics) StreamEnded(reason logstream.EndReason) {
	m.streamEnds.WithLabelValues(string(reason)).Inc()
}

// Consumers reports the lag of r's consumers at every scrape:
// logsd_consumer_lag_entries and logsd_consumer_lag_seconds by consumer.
func (m *Metrics) Consumers(r *logconsume.Runner) error {
	return m.reg.Register(&lagCollector{r: r})
}

// streams reports the live streams of b at every scrape.
func (m *Metrics) streams(b *logstream.Broadcaster) {
	err := m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "logsd_streams_active",
		Help: "Live streams open on this process."}, func() float64 {
		all, _ := b.Streams("")
		return float64(all)
	}))
	var are prometheus.AlreadyRegisteredError
	if err != nil && !errors.As(err, &are) {
		panic(err)
	}
}

func (m *Metrics) observe(route, method string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other" // a client's made-up method is not a label value
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(took.Seconds())
}

var (
	lagEntries = prometheus.NewDesc("logsd_consumer_lag_entries",
		"Entries a durable consumer has not yet applied (counted up to 1,000,000).", []string{"consumer"}, nil)
	lagSeconds = prometheus.NewDesc("logsd_consumer_lag_seconds",
		"How long ago a consumer that is behind was last at the head of the log (0 at the head).", []string{"consumer"}, nil)
)

type lagCollector struct{ r *logconsume.Runner }

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- lagEntries; ch <- lagSeconds }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lags, err := c.r.Lag(ctx, false)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(lagEntries, err)
		return
	}
	for _, l := range lags {
		ch <- prometheus.MustNewConstMetric(lagEntries, prometheus.GaugeValue, float64(l.Entries), l.Name)
		ch <- prometheus.MustNewConstMetric(lagSeconds, prometheus.GaugeValue, l.Seconds, l.Name)
	}
}

// MetricsAccess says who may read GET /metrics.
type MetricsAccess struct {
	// Mode is MetricsLoopback (the zero value), MetricsOpen or MetricsOff;
	// with Token set it is ignored: a bearer token is required.
	Mode string
	// Token, when set, is the bearer token /metrics requires (not a JWT:
	// the scraper's own secret).
	Token string
}

// The modes of MetricsAccess.
const (
	MetricsLoopback = ""     // open to clients on a loopback address, 404 to others
	MetricsOpen     = "open" // open to all
	MetricsOff      = "off"  // 404 to all
)

// ParseMetricsAccess reads LOGSD_METRICS: off, open, loopback (or "") or
// token:<secret> (at least 16 bytes).
func ParseMetricsAccess(s string) (MetricsAccess, error) {
	switch {
	case s == "" || s == "loopback":
		return MetricsAccess{Mode: MetricsLoopback}, nil
	case s == MetricsOpen || s == MetricsOff:
		return MetricsAccess{Mode: s}, nil
	case strings.HasPrefix(s, "token:"):
		tok := strings.TrimPrefix(s, "token:")
		if len(tok) < 16 {
			return MetricsAccess{}, errors.New("the token of token:<secret> must have at least 16 bytes")
		}
		return MetricsAccess{Token: tok}, nil
	}
	return MetricsAccess{}, errors.New("must be off, open, loopback or token:<secret>")
}

// serveMetrics serves GET /metrics as Options.MetricsAccess allows.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, _ *call) error {
	a := s.opts.MetricsAccess
	switch {
	case a.Token != "":
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) != 1 {
			return logs.NewError(logs.ErrUnauthenticated, "", "/metrics takes the bearer token of LOGSD_METRICS")
		}
	case a.Mode == MetricsOff:
		return logs.NewError(logs.ErrNotFound, "", "metrics are off (LOGSD_METRICS=off)")
	case a.Mode == MetricsOpen:
	default:
		if !loopback(r.RemoteAddr) {
			return logs.NewError(logs.ErrNotFound, "", "metrics are served to loopback addresses only (see LOGSD_METRICS)")
		}
	}
	s.metricsHandler.ServeHTTP(w, r)
	return nil
}

// loopback reports whether a RemoteAddr is a loopback address.
func loopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
