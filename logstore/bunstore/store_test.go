package bunstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logstore/bunstore"
	"github.com/ithbat/logs/logstore/storetest"
)

func TestConformance(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) storetest.Harness {
				s, err := bunstore.Open(context.Background(), testdb.URL(t, backend), &bunstore.Options{MaxRetention: -1})
				require.NoError(t, err)
				return storetest.Harness{Store: s, Jobs: s, Tickets: s, Consumers: s, Settings: s, Streams: s, Trees: s, Dialect: s.Dialect(),
					Exec: func(ctx context.Context, q string) error {
						_, err := s.DB().ExecContext(ctx, q)
						return err
					}}
			})
		})
	}
}
