package logslog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/logsdtest"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logclient"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logslog"
	"github.com/ithbat/logs/logstore/bunstore"
)

func TestMain(m *testing.M) { logsdtest.Main(m) }

// wire is a sink that keeps what it is given as the API's JSON would
// carry it (a collaborator of the handler under test).
type wire struct {
	mu      sync.Mutex
	entries []map[string]any
}

func (w *wire) Write(_ context.Context, es []logs.Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range es {
		b, err := e.MarshalJSON()
		if err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		w.entries = append(w.entries, m)
	}
	return nil
}

// asSlog turns an entry into the map slogtest reads: time, level, msg and
// the metadata at the top. A zero record time is an entry without
// createdAt's year-1 value: the handler leaves it to the store (now).
func asSlog(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m["metadata"].(map[string]any) {
		out[k] = v
	}
	if ts := m["createdAt"].(string); !strings.HasPrefix(ts, "0001-") {
		out[slog.TimeKey] = ts
	}
	out[slog.LevelKey] = m["level"]
	out[slog.MessageKey] = m["message"]
	return out
}

func TestSlogtest(t *testing.T) {
	w := &wire{}
	h, err := logslog.New(w, &logslog.Options{Source: "svc", Level: slog.LevelDebug})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	err = slogtest.TestHandler(h, func() []map[string]any {
		require.NoError(t, h.Flush(t.Context()))
		w.mu.Lock()
		defer w.mu.Unlock()
		out := make([]map[string]any, len(w.entries))
		for i, m := range w.entries {
			out[i] = asSlog(m)
		}
		return out
	})
	require.NoError(t, err)
}

type stringer struct{}

func (stringer) String() string { return "I am a stringer" }

func TestMapping(t *testing.T) {
	w := &wire{}
	h, err := logslog.New(w, &logslog.Options{Source: "billing", Level: slog.LevelDebug, AddSource: true})
	require.NoError(t, err)
	defer h.Close()
	at := time.Date(2026, 11, 30, 14, 32, 7, 123456789, time.UTC)
	log := slog.New(h).With("service", "api").WithGroup("req")
	for _, lv := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelError + 4} {
		r := slog.NewRecord(at, lv, "charge", 0)
		r.AddAttrs(slog.Int("n", 3), slog.Group("card", slog.String("brand", "visa"), slog.Float64("nan", math.NaN())),
			slog.Any("err", errors.New("declined")), slog.Duration("took", 1500*time.Millisecond), slog.Any("s", stringer{}),
			slog.Any("list", []int{1, 2}), slog.Any("bad", func() {}), slog.String("bin", "a\xffb\x00"))
		require.NoError(t, log.Handler().Handle(t.Context(), r))
	}
	log.Info("")
	log.Info(strings.Repeat("x", logs.MaxMessageLen+10))
	log.Info("big", "blob", strings.Repeat("y", logs.MaxMetadataLen))
	require.NoError(t, h.Flush(t.Context()))
	require.Len(t, w.entries, 8)
	var levels []any
	for _, e := range w.entries[:5] {
		levels = append(levels, e["level"])
	}
	assert.Equal(t, []any{"info", "info", "warn", "error", "error"}, levels)
	e := w.entries[0]
	assert.Equal(t, "billing", e["source"])
	assert.Equal(t, "charge", e["message"])
	assert.Equal(t, "2026-11-30T14:32:07.123456Z", e["createdAt"])
	assert.Equal(t, map[string]any{
		"service": "api",
		"req": map[string]any{"n": 3.0, "card": map[string]any{"brand": "visa", "nan": "NaN"}, "err": "declined",
			"took": "1.5s", "s": "I am a stringer", "list": []any{1.0, 2.0}, "bad": e["metadata"].(map[string]any)["req"].(map[string]any)["bad"],
			"bin": "a\uFFFDb\uFFFD"},
	}, e["metadata"])
	assert.Equal(t, "(no message)", w.entries[5]["message"])
	assert.LessOrEqual(t, len(w.entries[6]["message"].(string)), logs.MaxMessageLen)
	assert.True(t, strings.HasSuffix(w.entries[6]["message"].(string), "…"))
	md := w.entries[7]["metadata"].(map[string]any)
	assert.Contains(t, md["logslog.dropped"], "larger than")
	assert.Contains(t, w.entries[7]["metadata"].(map[string]any)["logslog.keys"], "caller")
	assert.Contains(t, w.entries[5]["metadata"].(map[string]any)["caller"], "handler_test.go:")
	assert.Zero(t, h.Dropped())

	_, err = logslog.New(w, &logslog.Options{})
	assert.ErrorContains(t, err, "source")
	_, err = logslog.New(nil, &logslog.Options{Source: "x"})
	assert.Error(t, err)
	assert.False(t, slog.New(h).Enabled(t.Context(), slog.LevelDebug-1))
}

// gate is a sink whose writes wait for release.
type gate struct {
	wire
	got     chan int
	release chan struct{}
}

func (g *gate) Write(ctx context.Context, es []logs.Entry) error {
	g.got <- len(es)
	<-g.release
	return g.wire.Write(ctx, es)
}

func TestFullBuffer(t *testing.T) {
	t.Run("drops and counts", func(t *testing.T) {
		g := &gate{got: make(chan int, 10), release: make(chan struct{})}
		h, err := logslog.New(g, &logslog.Options{Source: "s", BufferSize: 10, BatchSize: 5, FlushInterval: time.Hour})
		require.NoError(t, err)
		log := slog.New(h)
		for range 5 {
			log.Info("first")
		}
		assert.Equal(t, 5, <-g.got, "a full batch is written at once")
		for range 20 {
			log.Info("more") // never blocks
		}
		assert.EqualValues(t, 10, h.Dropped())
		close(g.release)
		require.NoError(t, h.Close())
		assert.Len(t, g.entries, 15, "Close writes what was accepted")
		log.Info("after close")
		assert.EqualValues(t, 11, h.Dropped())
	})
	t.Run("blocks when asked to", func(t *testing.T) {
		g := &gate{got: make(chan int, 10), release: make(chan struct{})}
		h, err := logslog.New(g, &logslog.Options{Source: "s", BufferSize: 2, BatchSize: 2, FlushInterval: time.Hour, Block: true})
		require.NoError(t, err)
		log := slog.New(h)
		log.Info("a")
		log.Info("b")
		<-g.got
		log.Info("c")
		log.Info("d") // the buffer is full now
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		log.InfoContext(ctx, "cancelled") // a caller's context ends the wait: dropped
		assert.EqualValues(t, 1, h.Dropped())
		var released atomic.Bool
		returned := make(chan bool)
		go func() {
			log.Info("e")
			returned <- released.Load()
		}()
		released.Store(true)
		close(g.release)
		assert.True(t, <-returned, "Handle waited for room")
		require.NoError(t, h.Close())
		assert.Len(t, g.entries, 5)
	})
	t.Run("a write error is reported and counted", func(t *testing.T) {
		var lost atomic.Int64
		h, err := logslog.New(logslog.SinkFunc(func(context.Context, []logs.Entry) error { return errors.New("disk full") }),
			&logslog.Options{Source: "s", OnError: func(err error, n int) { lost.Add(int64(n)) }})
		require.NoError(t, err)
		slog.New(h).Info("x")
		slog.New(h).Info("y")
		require.NoError(t, h.Flush(t.Context()))
		assert.EqualValues(t, 2, lost.Load())
		assert.EqualValues(t, 2, h.Dropped())
		require.NoError(t, h.Close())
		require.NoError(t, h.Close(), "twice")
	})
	t.Run("flush waits for concurrent writers", func(t *testing.T) {
		w := &wire{}
		h, err := logslog.New(w, &logslog.Options{Source: "s", BatchSize: 7, BufferSize: 100_000})
		require.NoError(t, err)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				l := slog.New(h).With("writer", i)
				for range 500 {
					l.Info("m")
				}
			})
		}
		wg.Wait()
		require.NoError(t, h.Flush(t.Context()))
		w.mu.Lock()
		assert.Len(t, w.entries, 4000)
		w.mu.Unlock()
		require.NoError(t, h.Close())
	})
}

// TestSinks writes through a real store and a real logsd, on both
// databases.
func TestSinks(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Run("store", func(t *testing.T) {
				store, err := bunstore.Open(t.Context(), testdb.URL(t, backend), nil)
				require.NoError(t, err)
				defer store.Close()
				h, err := logslog.New(logslog.StoreSink(store, "acme"), &logslog.Options{Source: "billing", BatchSize: 10})
				require.NoError(t, err)
				log := slog.New(h)
				for i := range 25 {
					log.Warn("charge retried", "attempt", i, slog.Group("card", "brand", "visa"))
				}
				require.NoError(t, h.Close())
				page, err := store.Query(t.Context(), "acme", logquery.Filter{Level: logs.LevelWarn, Limit: 100})
				require.NoError(t, err)
				require.EqualValues(t, 25, page.Total)
				e := page.Entries[0]
				assert.Equal(t, "billing", e.Source)
				assert.Equal(t, "charge retried", e.Message)
				assert.Equal(t, map[string]any{"brand": "visa"}, e.Metadata["card"])
				assert.WithinDuration(t, time.Now(), e.CreatedAt, time.Minute)
			})
			t.Run("logsd", func(t *testing.T) {
				d := logsdtest.Start(t, backend, nil)
				c, err := logclient.New(d.URL, logsdtest.Token(t, "acme", "log:read", "log:write"), "acme", nil)
				require.NoError(t, err)
				h, err := logslog.New(logslog.ClientSink(c, nil), &logslog.Options{Source: "billing", BatchSize: 4})
				require.NoError(t, err)
				log := slog.New(h)
				var buf bytes.Buffer
				for i := range 10 {
					log.Error("payment failed", "i", i, "ip", "102.45.67.89")
				}
				require.NoError(t, h.Close())
				assert.Empty(t, buf.String())
				var got []string
				for e, err := range c.All(t.Context(), logquery.Filter{Source: "billing"}) {
					require.NoError(t, err)
					got = append(got, string(e.Level)+" "+e.Message+" "+string(e.Metadata["i"].(json.Number)))
				}
				require.Len(t, got, 10)
				assert.Equal(t, "error payment failed 9", got[0], "newest first")
			})
		})
	}
}

func TestShutdown(t *testing.T) {
	// A sink that never answers (a logsd that went away) does not hold a
	// service's shutdown beyond its context.
	var lost atomic.Int64
	h, err := logslog.New(logslog.SinkFunc(func(ctx context.Context, es []logs.Entry) error {
		<-ctx.Done()
		return ctx.Err()
	}), &logslog.Options{Source: "s", BatchSize: 10, OnError: func(err error, n int) { lost.Add(int64(n)) }})
	require.NoError(t, err)
	for range 95 {
		slog.New(h).Info("m")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, h.Shutdown(ctx), context.DeadlineExceeded)
	assert.EqualValues(t, 95, h.Dropped(), "every record is accounted for")
	assert.EqualValues(t, 95, lost.Load())
	require.NoError(t, h.Close(), "after Shutdown")
}
