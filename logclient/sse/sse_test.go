package sse_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/logclient/sse"
)

func TestReader(t *testing.T) {
	in := "retry: 1500\r\n\r\n" +
		": ping\n\n" +
		"id: a1\ndata: {\"x\":1}\n\n" +
		"event: end\rdata: one\rdata: two\r\r" +
		"id: b2\n\n" +
		"data:no-space\n" +
		"retry: 12x\n\n" +
		"data: cut"
	r := sse.NewReader(strings.NewReader(in))
	want := []sse.Block{
		{Event: "message", Retry: 1500 * time.Millisecond},
		{Event: "message", Comments: []string{"ping"}},
		{Event: "message", Data: `{"x":1}`, HasID: true, LastEventID: "a1", Dispatched: true},
		{Event: "end", Data: "one\ntwo", LastEventID: "a1", Dispatched: true},
		{Event: "message", HasID: true, LastEventID: "b2"},
		{Event: "message", Data: "no-space", LastEventID: "b2", Dispatched: true},
	}
	for i, w := range want {
		b, err := r.Next()
		require.NoError(t, err, "block %d", i)
		assert.Equal(t, w, b, "block %d", i)
	}
	_, err := r.Next()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, "b2", r.LastEventID())
}

func TestReaderLimit(t *testing.T) {
	big := strings.Repeat("x", 100)
	t.Run("a block within the limit", func(t *testing.T) {
		r := sse.NewReaderSize(strings.NewReader("data: "+big+"\n\n"+strings.Repeat("\n", 500)+"data: "+big+"\n\n"), 120)
		for range 2 {
			b, err := r.Next()
			require.NoError(t, err)
			assert.Equal(t, big, b.Data)
		}
	})
	for name, in := range map[string]string{
		"one long line":         "data: " + big + big + "\n\n",
		"a line without end":    "data: " + big + big,
		"many lines of a block": strings.Repeat("data: "+big[:50]+"\n", 3) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sse.NewReaderSize(strings.NewReader(in), 120).Next()
			require.ErrorIs(t, err, sse.ErrTooLarge)
		})
	}
}
