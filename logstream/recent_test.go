package logstream_test

import (
	"context"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstream"
)

// The tailer's ring of recent entries keeps the events it handed out live
// (up to Options.RecentBytes) for subscriptions that join later. When the
// last subscription ends nobody can join: the ring is emptied and its
// events are freed, instead of staying until the next stream comes.
// Nothing is lost by it: a stream that resumes from before reads the store.
func TestRecentDroppedWithLastSubscription(t *testing.T) {
	store := openStore(t, "sqlite")
	b := newBroadcaster(t, store, logstream.Options{})
	sub := subscribe(t, b, "a", logquery.Filter{}, nil)
	require.Eventually(t, func() bool {
		evs, err := sub.Next(context.Background())
		require.NoError(t, err)
		require.Empty(t, evs)
		return sub.IsLive()
	}, 10*time.Second, time.Millisecond, "the subscription joins the live feed")
	es := appendEntries(t, store, "a", numbered("x", 3)...)
	handedOut := weakEvents(receive(t, sub, len(es)))
	require.Equal(t, len(es), b.RecentLen(), "the ring holds the events handed out live")

	require.NoError(t, sub.Close())
	require.Eventually(t, func() bool {
		runtime.GC()
		return b.RecentLen() == 0 && collected(handedOut)
	}, 10*time.Second, 10*time.Millisecond, "the events stay in memory after the last subscription ended")

	var start logstore.Cursor
	again := subscribe(t, b, "a", logquery.Filter{}, &start)
	assert.Equal(t, ids(es), eventIDs(receive(t, again, len(es))))
}

func weakEvents(evs []*logstream.Event) []weak.Pointer[logstream.Event] {
	out := make([]weak.Pointer[logstream.Event], len(evs))
	for i, ev := range evs {
		out[i] = weak.Make(ev)
	}
	return out
}

func collected(ps []weak.Pointer[logstream.Event]) bool {
	for _, p := range ps {
		if p.Value() != nil {
			return false
		}
	}
	return true
}
