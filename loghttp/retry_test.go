package loghttp_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore/bunstore"
)

// TestConcurrentRetries: the same batch POSTed by several clients at once,
// with ids the writer gave (not UUIDv7) and no createdAt, is stored once;
// every request gets 201 with the same ids.
func TestConcurrentRetries(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newEnv(t, st, nil)
		tok := token(t, "acme", loghttp.PermWrite)
		var ids []string
		for round := range 15 {
			id := uuid.NewString()
			ids = append(ids, id)
			body := fmt.Sprintf(`{"logs":[{"id":%q,"level":"info","source":"i","message":"x %d"}]}`, id, round)
			var wg sync.WaitGroup
			results := make([]*resp, 4)
			for c := range results {
				wg.Go(func() {
					results[c] = e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: tok, tenant: "acme",
						body: strings.NewReader(body), header: http.Header{"Content-Type": {"application/json"}}})
				})
			}
			wg.Wait()
			for _, r := range results {
				var in ingested
				r.data(t, http.StatusCreated, &in)
				assert.Equal(t, []string{id}, in.IDs)
			}
		}
		l := e.list(t, "acme", "limit=500")
		assert.EqualValues(t, len(ids), l.Total, "each id once")
		var got []string
		for _, en := range l.Logs {
			got = append(got, en.ID)
		}
		assert.ElementsMatch(t, ids, got)
	})
}

// TestConflictingRetry: an id sent again with other content is a 409 that
// names the entry, and the batch stores nothing; the same entry again is a
// 201 with the same id.
func TestConflictingRetry(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newEnv(t, st, nil)
		id := uuid.NewString()
		first := e.ingest(t, "acme", fmt.Sprintf(`{"logs":[{"id":%q,"level":"info","source":"i","message":"original"}]}`, id))
		tok := token(t, "acme", loghttp.PermWrite)
		r := e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: tok, tenant: "acme", header: http.Header{"Content-Type": {"application/json"}},
			body: strings.NewReader(fmt.Sprintf(`{"logs":[{"level":"info","source":"i","message":"new"},{"id":%q,"level":"info","source":"i","message":"changed"}]}`, id))})
		r.requireError(t, http.StatusConflict, "conflict", "logs[1].id")
		again := e.ingest(t, "acme", fmt.Sprintf(`{"logs":[{"id":%q,"level":"info","source":"i","message":"original"}]}`, id))
		assert.Equal(t, first.IDs, again.IDs)
		l := e.list(t, "acme", "")
		require.EqualValues(t, 1, l.Total, "the refused batch stored nothing")
		assert.Equal(t, "original", l.Logs[0].Message)
	})
}
