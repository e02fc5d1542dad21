package logstream_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstore/bunstore"
	"github.com/ithbat/logs/logstream"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openStore opens a fresh store of backend ("sqlite" or "postgres").
func openStore(tb testing.TB, backend string) *bunstore.Store {
	tb.Helper()
	return openURL(tb, testdb.URL(tb, backend))
}

// openURL opens a store on url, closed when tb ends.
func openURL(tb testing.TB, url string) *bunstore.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := bunstore.Open(ctx, url, &bunstore.Options{NoSearchIndex: true, Logger: quiet})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// newBroadcaster returns a Broadcaster on store with the test key, closed
// when tb ends (before the store).
func newBroadcaster(tb testing.TB, store logstore.Store, o logstream.Options) *logstream.Broadcaster {
	tb.Helper()
	if o.Key == nil {
		o.Key = testKey
	}
	if o.Logger == nil {
		o.Logger = quiet
	}
	if o.Poll == 0 {
		o.Poll = 50 * time.Millisecond
	}
	b, err := logstream.New(store, &o)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = b.Close() })
	return b
}

func mk(level logs.Level, source, msg string) logs.Entry {
	return logs.Entry{Level: level, Source: source, Message: msg, Metadata: map[string]any{"k": msg}}
}

// appendEntries appends es for tenant one by one and returns them as stored.
func appendEntries(tb testing.TB, s logstore.Store, tenant string, es ...logs.Entry) []logs.Entry {
	tb.Helper()
	var out []logs.Entry
	for _, e := range es {
		got, err := s.Append(context.Background(), tenant, []logs.Entry{e})
		require.NoError(tb, err)
		out = append(out, got...)
	}
	return out
}

// numbered returns n info entries of source "app" with messages prefix-i.
func numbered(prefix string, n int) []logs.Entry {
	es := make([]logs.Entry, n)
	for i := range es {
		es[i] = mk(logs.LevelInfo, "app", fmt.Sprintf("%s-%d", prefix, i))
	}
	return es
}

// receive reads from sub until it has n events, failing after 20 s.
func receive(tb testing.TB, sub *logstream.Subscription, n int) []*logstream.Event {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []*logstream.Event
	for len(out) < n {
		evs, err := sub.Recv(ctx)
		require.NoError(tb, err, "after %d of %d events", len(out), n)
		out = append(out, evs...) // Events are shared and immutable; the slice is copied by append
	}
	return out
}

// quiet reports that sub has nothing more within d (a check that nothing
// extra arrives, never a timing assertion on delivery).
func nothingMore(tb testing.TB, sub *logstream.Subscription, d time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	evs, err := sub.Recv(ctx)
	require.ErrorIs(tb, err, context.DeadlineExceeded, "unexpected events: %v", messages(evs))
}

func messages(evs []*logstream.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Entry.Message
	}
	return out
}

func ids(es []logs.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func eventIDs(evs []*logstream.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Entry.ID
	}
	return out
}

// visible returns the n entries of tenant ("" for all) in cursor order, once
// the store hands them all out. On PostgreSQL the visibility watermark is
// the whole cluster's: a transaction open in another database (another
// test) holds it back for a while.
func visible(tb testing.TB, s logstore.Store, tenant string, n int) []logstore.Record {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out []logstore.Record
		var c logstore.Cursor
		for {
			recs, err := s.After(context.Background(), tenant, c, 1000)
			require.NoError(tb, err)
			out = append(out, recs...)
			if len(recs) < 1000 {
				break
			}
			c = recs[len(recs)-1].Cursor
		}
		if len(out) >= n || time.Now().After(deadline) {
			require.Len(tb, out, n)
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func subscribe(tb testing.TB, b *logstream.Broadcaster, tenant string, f logquery.Filter, after *logstore.Cursor) *logstream.Subscription {
	tb.Helper()
	sub, err := b.Subscribe(context.Background(), tenant, f, after)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = sub.Close() })
	return sub
}

// sameSequence fails unless got is want: it names what is missing,
// duplicated or out of order instead of printing both lists.
func sameSequence(tb testing.TB, want, got []string, what string) {
	tb.Helper()
	if slices.Equal(want, got) {
		return
	}
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	wanted := map[string]bool{}
	var missing, dup, extra []string
	for _, id := range want {
		wanted[id] = true
		switch seen[id] {
		case 0:
			missing = append(missing, id)
		case 1:
		default:
			dup = append(dup, id)
		}
	}
	for id := range seen {
		if !wanted[id] {
			extra = append(extra, id)
		}
	}
	first := 0
	for first < len(want) && first < len(got) && want[first] == got[first] {
		first++
	}
	tb.Fatalf("%s: want %d entries, got %d; missing %d %v, duplicated %d %v, foreign %d %v; first difference at %d",
		what, len(want), len(got), len(missing), clip(missing), len(dup), clip(dup), len(extra), clip(extra), first)
}

func clip(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}
