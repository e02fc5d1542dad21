package logslog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logclient"
	"github.com/ithbat/logs/logstore"
)

// Sink writes batches of entries.
type Sink interface {
	// Write stores entries (at most Options.BatchSize) or returns why not.
	Write(ctx context.Context, entries []logs.Entry) error
}

// SinkFunc is a function as a Sink.
type SinkFunc func(ctx context.Context, entries []logs.Entry) error

// Write calls f.
func (f SinkFunc) Write(ctx context.Context, entries []logs.Entry) error { return f(ctx, entries) }

// StoreSink writes into store, for tenant.
func StoreSink(store logstore.Store, tenant string) Sink {
	return SinkFunc(func(ctx context.Context, entries []logs.Entry) error {
		_, err := store.Append(ctx, tenant, entries)
		return err
	})
}

// ClientSink writes through c (to its tenant), with the client's retries;
// opts may be nil.
func ClientSink(c *logclient.Client, opts *logclient.IngestOptions) Sink {
	return SinkFunc(func(ctx context.Context, entries []logs.Entry) error {
		_, err := c.Ingest(ctx, entries, opts)
		return err
	})
}

// Options configure a Handler.
type Options struct {
	// Source is the source of every entry (required), such as "billing".
	Source string
	// Level is the minimum level handled; slog.LevelInfo by default.
	Level slog.Leveler
	// AddSource adds the record's code position as the metadata key
	// "caller" ("file.go:42").
	AddSource bool
	// BufferSize bounds the entries waiting to be written: 10,000 by default.
	BufferSize int
	// BatchSize is the most entries a write carries: 500 by default.
	BatchSize int
	// FlushInterval is how long an entry waits for a batch to fill: 1s by
	// default.
	FlushInterval time.Duration
	// WriteTimeout bounds one write of the sink: 1 minute by default.
	WriteTimeout time.Duration
	// Block makes Handle wait for room in a full buffer instead of
	// dropping the record.
	Block bool
	// OnError, when set, is called (from the writing goroutine) with a
	// write's error and the number of entries it lost.
	OnError func(err error, lost int)
}

// Handler is a slog.Handler writing entries to a Sink.
type Handler struct {
	c      *core
	prefix []string       // the open groups
	attrs  map[string]any // attributes of WithAttrs, nested by group
	leaf   map[string]any // the map of the innermost open group within attrs
}

// core is what a Handler and its derivations share.
type core struct {
	sink Sink
	opts Options

	mu       sync.Mutex
	queue    []logs.Entry
	accepted uint64        // entries put in the queue, ever
	done     uint64        // entries written or lost, ever
	progress chan struct{} // closed and replaced when done or the queue changes
	closed   bool
	wake     chan struct{}
	writeCtx context.Context // the writes' context; cancelled by Shutdown's end
	cancel   context.CancelFunc
	stop     chan struct{}
	stopped  chan struct{}
	dropped  atomic.Uint64
}

var _ slog.Handler = (*Handler)(nil)

// New returns a handler writing to sink, and starts its writing goroutine
// (Close stops it).
func New(sink Sink, opts *Options) (*Handler, error) {
	if sink == nil {
		return nil, errors.New("logslog: no sink")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	probe := logs.Entry{Level: logs.LevelInfo, Source: o.Source, Message: "x"}
	if err := probe.Validate(); err != nil {
		return nil, fmt.Errorf("logslog: the source: %w", err)
	}
	if o.Level == nil {
		o.Level = slog.LevelInfo
	}
	if o.BufferSize <= 0 {
		o.BufferSize = 10_000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = time.Minute
	}
	c := &core{sink: sink, opts: o, progress: make(chan struct{}), wake: make(chan struct{}, 1),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	c.writeCtx, c.cancel = context.WithCancel(context.Background())
	go c.run()
	return &Handler{c: c, attrs: map[string]any{}}, nil
}

// Enabled reports whether level is at least Options.Level.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.c.opts.Level.Level()
}

// levelOf maps slog's levels to the service's three.
func levelOf(l slog.Level) logs.Level {
	switch {
	case l >= slog.LevelError:
		return logs.LevelError
	case l >= slog.LevelWarn:
		return logs.LevelWarn
	}
	return logs.LevelInfo
}

// Handle queues the record as an entry; see the package doc.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	md := cloneMap(h.attrs)
	leaf := md
	for _, g := range h.prefix {
		leaf = leaf[g].(map[string]any)
	}
	if h.c.opts.AddSource && r.PC != 0 {
		fs := runtime.CallersFrames([]uintptr{r.PC})
		f, _ := fs.Next()
		if f.File != "" {
			md["caller"] = shortFile(f.File) + ":" + strconv.Itoa(f.Line)
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(leaf, a)
		return true
	})
	pruneEmpty(md)
	e := logs.Entry{Level: levelOf(r.Level), Source: h.c.opts.Source, Message: r.Message, Metadata: md}
	if !r.Time.IsZero() {
		e.CreatedAt = r.Time
	}
	fit(&e)
	return h.c.put(ctx, e)
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := h.clone()
	for _, a := range attrs {
		addAttr(h2.leaf, a)
	}
	return h2
}

// WithGroup returns a handler that puts the attributes that follow in
// group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := h.clone()
	g := map[string]any{}
	h2.leaf[name] = g
	h2.leaf = g
	h2.prefix = append(h2.prefix, name)
	return h2
}

func (h *Handler) clone() *Handler {
	h2 := &Handler{c: h.c, prefix: append([]string(nil), h.prefix...), attrs: cloneMap(h.attrs)}
	h2.leaf = h2.attrs
	for _, g := range h2.prefix {
		h2.leaf = h2.leaf[g].(map[string]any)
	}
	return h2
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = cloneMap(sub)
		}
		out[k] = v
	}
	return out
}

// pruneEmpty removes groups without attributes (an open group no record
// filled), as slog's handlers do.
func pruneEmpty(m map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			pruneEmpty(sub)
			if len(sub) == 0 {
				delete(m, k)
			}
		}
	}
}

// addAttr adds a to m, as slog's rules say: an empty attribute is
// ignored, a group without a key is inlined.
func addAttr(m map[string]any, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		attrs := a.Value.Group()
		if len(attrs) == 0 {
			return
		}
		dst := m
		if a.Key != "" {
			sub, ok := m[a.Key].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[a.Key] = sub
			}
			dst = sub
		}
		for _, ga := range attrs {
			addAttr(dst, ga)
		}
		return
	}
	m[a.Key] = valueOf(a.Value)
}

// valueOf is a value as JSON can hold it.
func valueOf(v slog.Value) any {
	switch v.Kind() {
	case slog.KindString:
		return v.String()
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return v.Uint64()
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
		return f
	case slog.KindBool:
		return v.Bool()
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time().UTC().Format(time.RFC3339Nano)
	}
	x := v.Any()
	switch x := x.(type) {
	case nil:
		return nil
	case error:
		return x.Error()
	case json.Marshaler:
	case fmt.Stringer:
		return x.String()
	}
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprintf("%+v", x)
	}
	var out any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if dec.Decode(&out) != nil {
		return string(b)
	}
	return out
}

func shortFile(f string) string {
	if i := strings.LastIndexByte(f, '/'); i >= 0 {
		if j := strings.LastIndexByte(f[:i], '/'); j >= 0 {
			return f[j+1:]
		}
	}
	return f
}

// fit makes e an entry every store accepts: a message of valid text
// within its limit (one is required: "(no message)"), and metadata within
// its limit (else replaced by a note of what it was).
func fit(e *logs.Entry) {
	e.Message = validText(e.Message)
	if len(e.Message) > logs.MaxMessageLen {
		cut := logs.MaxMessageLen - len("…")
		for cut > 0 && !utf8.RuneStart(e.Message[cut]) {
			cut--
		}
		e.Message = e.Message[:cut] + "…"
	}
	if e.Message == "" {
		e.Message = "(no message)"
	}
	fixStrings(e.Metadata)
	if _, err := logs.EncodeMetadata(e.Metadata); err != nil {
		keys := make([]string, 0, len(e.Metadata))
		for k := range e.Metadata {
			keys = append(keys, k)
		}
		e.Metadata = map[string]any{"logslog.dropped": fmt.Sprintf("the metadata was larger than %d bytes", logs.MaxMetadataLen)}
		if len(strings.Join(keys, ",")) < 10<<10 {
			e.Metadata["logslog.keys"] = keys
		}
	}
}

// validText repairs what ValidText refuses: invalid UTF-8 and NUL.
func validText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func fixStrings(m map[string]any) {
	for k, v := range m {
		switch x := v.(type) {
		case string:
			m[k] = validText(x)
		case map[string]any:
			fixStrings(x)
		}
		if fk := validText(k); fk != k {
			delete(m, k)
			m[fk] = v
		}
	}
}

// put queues e.
func (c *core) put(ctx context.Context, e logs.Entry) error {
	c.mu.Lock()
	for !c.closed && len(c.queue) >= c.opts.BufferSize {
		if !c.opts.Block {
			c.mu.Unlock()
			c.dropped.Add(1)
			return nil
		}
		ch := c.progress
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			c.dropped.Add(1)
			return nil
		}
		c.mu.Lock()
	}
	if c.closed {
		c.mu.Unlock()
		c.dropped.Add(1)
		return nil
	}
	c.queue = append(c.queue, e)
	c.accepted++
	full := len(c.queue) >= c.opts.BatchSize
	c.mu.Unlock()
	if full {
		c.poke()
	}
	return nil
}

func (c *core) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// signal wakes the waiters of progress; c.mu is held.
func (c *core) signal() {
	close(c.progress)
	c.progress = make(chan struct{})
}

// run writes batches until stop, then what is left.
func (c *core) run() {
	defer close(c.stopped)
	t := time.NewTicker(c.opts.FlushInterval)
	defer t.Stop()
	for {
		stopping := false
		select {
		case <-c.wake:
		case <-t.C:
		case <-c.stop:
			stopping = true
		}
		for c.writeBatch() {
		}
		if stopping {
			return
		}
	}
}

// writeBatch writes one batch of the queue; it reports whether more wait.
func (c *core) writeBatch() bool {
	c.mu.Lock()
	n := min(len(c.queue), c.opts.BatchSize)
	if n == 0 {
		c.mu.Unlock()
		return false
	}
	batch := append([]logs.Entry(nil), c.queue[:n]...)
	c.queue = append(c.queue[:0], c.queue[n:]...)
	if cap(c.queue) > 4*c.opts.BufferSize/3 && len(c.queue) < c.opts.BufferSize/4 {
		c.queue = append([]logs.Entry(nil), c.queue...) // give a burst's memory back
	}
	c.signal() // room in the queue
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(c.writeCtx, c.opts.WriteTimeout)
	err := c.sink.Write(ctx, batch)
	cancel()
	if err != nil {
		c.dropped.Add(uint64(n))
		if c.opts.OnError != nil {
			c.opts.OnError(err, n)
		}
	}
	c.mu.Lock()
	c.done += uint64(n)
	more := len(c.queue) > 0
	c.signal()
	c.mu.Unlock()
	return more
}

// Flush waits until every record handled before it is written (or lost
// to a write error), or ctx ends.
func (h *Handler) Flush(ctx context.Context) error {
	c := h.c
	c.mu.Lock()
	target := c.accepted
	for c.done < target {
		ch := c.progress
		c.mu.Unlock()
		c.poke()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.stopped:
			c.mu.Lock()
			if c.done < target {
				c.mu.Unlock()
				return errors.New("logslog: the handler is closed")
			}
			c.mu.Unlock()
			return nil
		}
		c.mu.Lock()
	}
	c.mu.Unlock()
	return nil
}

// Close stops taking records (later ones are dropped), writes what the
// buffer holds and stops the writing goroutine: Shutdown without a limit.
// It is safe to call more than once; all handlers derived from one share
// it.
func (h *Handler) Close() error { return h.Shutdown(context.Background()) }

// Shutdown is Close within ctx: when ctx ends first, the write under way
// is cancelled, what is left is dropped (counted, and reported to
// OnError), and Shutdown returns ctx's error once the goroutine stopped.
func (h *Handler) Shutdown(ctx context.Context) error {
	c := h.c
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		c.signal()
		close(c.stop)
	}
	c.mu.Unlock()
	select {
	case <-c.stopped:
		c.cancel()
		return nil
	case <-ctx.Done():
		c.cancel()
		<-c.stopped
		return ctx.Err()
	}
}

// Dropped is the number of records lost so far: refused by a full buffer
// or after Close, or in a batch the sink did not write.
func (h *Handler) Dropped() uint64 { return h.c.dropped.Load() }
