package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

func logStream(tenant string, created time.Time) logstore.LogStream {
	f, err := logquery.New().Level(logs.LevelError).Search(`"login failed"`).Build()
	if err != nil {
		panic(err)
	}
	f.Page, f.Limit = 0, 0
	return logstore.LogStream{
		ID: "ls-" + uuid.NewString(), TenantID: tenant, Type: "webhook", URL: "https://example.com/hook",
		Filter: f, StartDate: created.Add(-time.Hour), Start: logstore.Cursor{Epoch: 7, Seq: 42},
		BatchSize: 100, Format: "ndjson", Secret: "whsec_c2VjcmV0", Status: logstore.StreamActive,
		CreatedAt: created, UpdatedAt: created,
	}
}

// testLogStreams: log streams are stored as given, per tenant; updates
// keep the store's bookkeeping; failures turn a stream failing, then
// paused after the pause time; a delivery, committed with the consumer's
// checkpoint, counts exactly and ends the failing.
func testLogStreams(t *testing.T, h Harness) {
	if h.Streams == nil {
		t.Skip("the store keeps no log streams")
	}
	c := ctx(t)
	st := h.Streams
	now := time.Now().UTC().Truncate(time.Microsecond)
	a := logStream("t1", now)
	require.NoError(t, st.InsertLogStream(c, a))
	require.ErrorIs(t, st.InsertLogStream(c, a), logs.ErrConflict, "an id once")
	b := logStream("t1", now.Add(time.Second))
	b.Type, b.URL, b.Gzip, b.Secret = "blob", "s3://bucket/prefix", true, ""
	b.Filter = logquery.Filter{}
	require.NoError(t, st.InsertLogStream(c, b))
	other := logStream("t2", now)
	require.NoError(t, st.InsertLogStream(c, other))

	got, err := st.LogStream(c, "t1", a.ID)
	require.NoError(t, err)
	assert.Equal(t, a.Filter.Raw(), got.Filter.Raw())
	got.Filter = a.Filter
	assert.Equal(t, a, got, "stored as given")
	_, err = st.LogStream(c, "t2", a.ID)
	assert.ErrorIs(t, err, logs.ErrNotFound, "another tenant's stream is not found")
	_, err = st.LogStream(c, "t1", "ls-nope")
	assert.ErrorIs(t, err, logs.ErrNotFound)

	list, err := st.TenantLogStreams(c, "t1")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []string{a.ID, b.ID}, []string{list[0].ID, list[1].ID}, "oldest first")
	assert.True(t, list[1].Gzip)
	n, err := st.CountLogStreams(c, "t1")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	all, err := st.AllLogStreams(c)
	require.NoError(t, err)
	assert.Len(t, all, 3)

	// Failures: failing from the first, paused once it lasted pauseAfter.
	pause := time.Hour
	f1, err := st.LogStreamFailed(c, "t1", a.ID, "HTTP 500", now, pause, "failing for 1h")
	require.NoError(t, err)
	assert.Equal(t, logstore.StreamFailing, f1.Status)
	assert.Equal(t, now, f1.FailingSince)
	assert.Equal(t, "HTTP 500", f1.LastError)
	f2, err := st.LogStreamFailed(c, "t1", a.ID, "timeout", now.Add(30*time.Minute), pause, "failing for 1h")
	require.NoError(t, err)
	assert.Equal(t, logstore.StreamFailing, f2.Status)
	assert.Equal(t, now, f2.FailingSince, "since the first failure")
	assert.Equal(t, now.Add(30*time.Minute), f2.LastErrorAt)
	_, err = st.LogStreamFailed(c, "t2", a.ID, "x", now, pause, "")
	assert.ErrorIs(t, err, logs.ErrNotFound, "not another tenant's")

	// An update keeps the bookkeeping.
	up := f2
	up.Filter, up.BatchSize, up.UpdatedAt = logquery.Filter{Source: "auth"}, 5, now.Add(time.Minute)
	require.NoError(t, st.UpdateLogStream(c, up))
	got, err = st.LogStream(c, "t1", a.ID)
	require.NoError(t, err)
	assert.Equal(t, "auth", got.Filter.Source)
	assert.Equal(t, 5, got.BatchSize)
	assert.Equal(t, now, got.FailingSince)
	assert.Equal(t, logstore.StreamFailing, got.Status)
	up.TenantID = "t2"
	assert.ErrorIs(t, st.UpdateLogStream(c, up), logs.ErrNotFound, "not another tenant's")

	f3, err := st.LogStreamFailed(c, "t1", a.ID, "HTTP 503", now.Add(pause), pause, "failing for 1h")
	require.NoError(t, err)
	assert.Equal(t, logstore.StreamPaused, f3.Status)
	assert.Equal(t, "failing for 1h", f3.Reason)
	f4, err := st.LogStreamFailed(c, "t1", a.ID, "HTTP 503", now.Add(2*pause), pause, "other")
	require.NoError(t, err)
	assert.Equal(t, logstore.StreamPaused, f4.Status, "paused stays paused")
	assert.Equal(t, "failing for 1h", f4.Reason)

	// Resume: active, FailingSince cleared.
	f4.Status, f4.Reason = logstore.StreamActive, ""
	require.NoError(t, st.UpdateLogStream(c, f4))
	got, err = st.LogStream(c, "t1", a.ID)
	require.NoError(t, err)
	assert.Equal(t, logstore.StreamActive, got.Status)
	assert.True(t, got.FailingSince.IsZero())
	_, err = st.LogStreamFailed(c, "t1", a.ID, "HTTP 502", now.Add(3*pause), pause, "failing for 1h")
	require.NoError(t, err)

	// Deliveries count with the checkpoint, once.
	if h.Consumers != nil {
		name := "logstream:" + a.ID
		_, ok, err := h.Consumers.ClaimConsumer(c, name, "w", logstore.Cursor{}, now, now.Add(time.Minute))
		require.NoError(t, err)
		require.True(t, ok)
		appendAll(t, h.Store, "t1", entry(logs.LevelError, "auth", "login failed", base))
		recs := after(t, h.Store, "t1", logstore.Cursor{}, 10, 1)
		eff := logstore.LogStreamDelivered{Tenant: "t1", ID: a.ID, N: 3, At: now.Add(4 * pause)}
		for range 2 {
			_, err := h.Consumers.AdvanceConsumer(c, name, "w", logstore.Cursor{}, recs[0].Cursor, now, eff)
			require.NoError(t, err)
		}
		got, err = st.LogStream(c, "t1", a.ID)
		require.NoError(t, err)
		assert.EqualValues(t, 3, got.Delivered, "counted once: the second advance was refused")
		assert.Equal(t, logstore.StreamActive, got.Status, "a delivery ends the failing")
		assert.True(t, got.FailingSince.IsZero())
		assert.Equal(t, now.Add(4*pause), got.LastSuccessAt)
		assert.Equal(t, "HTTP 502", got.LastError, "the last error stays for the record")
		_, err = h.Consumers.AdvanceConsumer(c, name, "w", recs[0].Cursor, recs[0].Cursor, now,
			logstore.LogStreamDelivered{Tenant: "t1", ID: "ls-gone", N: 1, At: now})
		require.NoError(t, err, "a stream deleted meanwhile is left alone")
	}

	require.NoError(t, st.DeleteLogStream(c, "t1", a.ID))
	assert.ErrorIs(t, st.DeleteLogStream(c, "t1", a.ID), logs.ErrNotFound)
	assert.ErrorIs(t, st.DeleteLogStream(c, "t1", other.ID), logs.ErrNotFound, "not another tenant's")
	n, err = st.CountLogStreams(c, "t1")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}
