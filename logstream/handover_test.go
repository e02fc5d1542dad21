package logstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstream"
)

// pausingStore is the real store; a catch-up read (After of one tenant)
// calls hook after it has read, before its result is used. It lets a test
// move the tailer on while a subscription is between its store read and its
// hand-over to the live feed.
type pausingStore struct {
	logstore.Store
	hook func()
}

func (p *pausingStore) After(ctx context.Context, tenant string, after logstore.Cursor, limit int) ([]logstore.Record, error) {
	recs, err := p.Store.After(ctx, tenant, after, limit)
	if tenant != "" && p.hook != nil {
		p.hook()
	}
	return recs, err
}

// The tailer moves past a catching-up subscription's read before it joins:
// the entries in between come from the tailer's recent entries, or, when
// they are no longer there, from another store read. Either way none is
// lost or repeated.
func TestHandOverWhileTailerMoves(t *testing.T) {
	for name, o := range map[string]logstream.Options{
		"from recent entries":    {},
		"recent entries too few": {Recent: 1},
		"recent entries too big": {RecentBytes: 1},
	} {
		t.Run(name, func(t *testing.T) {
			store := openStore(t, "sqlite")
			ps := &pausingStore{Store: store}
			b := newBroadcaster(t, ps, o)
			watcher := subscribe(t, b, "a", logquery.Filter{}, nil) // tells when the tailer has moved

			old := appendEntries(t, store, "a", numbered("old", 3)...)
			receive(t, watcher, 3)
			var moved []string
			paused := false
			ps.hook = func() {
				if paused {
					return
				}
				paused = true
				// The read is done; more entries pass the tailer before
				// the subscription gets to join.
				es := appendEntries(t, store, "a", numbered("during", 4)...)
				appendEntries(t, store, "b", numbered("noise", 3)...)
				moved = ids(es)
				assert.Equal(t, moved, eventIDs(receive(t, watcher, 4)))
			}
			var zero logstore.Cursor
			sub := subscribe(t, b, "a", logquery.Filter{}, &zero)
			got := receive(t, sub, 7)
			require.True(t, paused)
			assert.Equal(t, append(ids(old), moved...), eventIDs(got))
			after := appendEntries(t, store, "a", numbered("after", 2)...)
			assert.Equal(t, ids(after), eventIDs(receive(t, sub, 2)))
			nothingMore(t, sub, 50*1e6)
		})
	}
}

// A subscription that resumes at the live edge reads nothing from the
// store when the tailer moves on during its read: it joins with the
// tailer's recent entries in its buffer, and its reader, waiting for
// Ready (as ServeSSE does), must be woken for them.
func TestHandOverWakesTheReader(t *testing.T) {
	store := openStore(t, "sqlite")
	ps := &pausingStore{Store: store}
	b := newBroadcaster(t, ps, logstream.Options{})
	watcher := subscribe(t, b, "a", logquery.Filter{}, nil)
	appendEntries(t, store, "a", numbered("old", 2)...)
	receive(t, watcher, 2)
	// The edge is an entry the tailer handed out live, so that it is among
	// the recent entries (an edge from before the tailer started is not).
	require.Eventually(t, func() bool {
		evs, err := watcher.Next(context.Background())
		require.NoError(t, err)
		require.Empty(t, evs)
		return watcher.IsLive()
	}, 10*time.Second, time.Millisecond)
	appendEntries(t, store, "a", numbered("edge", 1)...)
	edge := receive(t, watcher, 1)[0].Cursor

	var moved []string
	paused := false
	ps.hook = func() {
		if paused {
			return
		}
		paused = true
		moved = ids(appendEntries(t, store, "a", numbered("during", 3)...))
		receive(t, watcher, 3)
	}
	sub := subscribe(t, b, "a", logquery.Filter{}, &edge)
	<-sub.Ready() // Subscribe's own wake-up, as a reader that already looked
	evs, err := sub.Next(context.Background())
	require.NoError(t, err)
	require.True(t, paused)
	assert.Empty(t, evs, "the store read saw nothing after the edge")
	assert.True(t, sub.IsLive(), "joined from the recent entries")
	select {
	case <-sub.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the reader is not woken for the entries the subscription joined with")
	}
	evs, err = sub.Next(context.Background())
	require.NoError(t, err)
	assert.Equal(t, moved, eventIDs(evs))
}
