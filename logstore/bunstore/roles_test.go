package bunstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/testdb"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore/bunstore"
	"github.com/ithbat/logs/logstore/storetest"
)

// openAsServingRole opens a store that serves as a role without
// privileges of its own, migrated (and granted) through the owner's URL,
// and returns it with a store on the owner's URL.
func openAsServingRole(t *testing.T) (serving, owner *bunstore.Store) {
	t.Helper()
	ctx := context.Background()
	ownerURL := testdb.Postgres(t)
	appURL := testdb.PostgresRole(t, ownerURL)
	_, err := bunstore.Open(ctx, appURL, &bunstore.Options{NoMigrate: true})
	require.NoError(t, err, "a role may connect without migrating")
	serving, err = bunstore.Open(ctx, appURL, &bunstore.Options{AdminURL: ownerURL, MaxRetention: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = serving.Close() })
	owner, err = bunstore.Open(ctx, ownerURL, &bunstore.Options{NoMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = owner.Close() })
	return serving, owner
}

// TestServingRoleConformance runs the conformance suite on a store that
// serves as an application role: it appends (creating partitions), reads,
// tails, exports and spends tickets with the privileges Migrate granted;
// the immutability checks run as the owner, and Purge through AdminURL.
func TestServingRoleConformance(t *testing.T) {
	testdb.Postgres(t) // skip early when PostgreSQL is not there
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		s, owner := openAsServingRole(t)
		return storetest.Harness{Store: s, Jobs: s, Tickets: s, Consumers: s, Settings: s, Streams: s, Trees: s, Dialect: "pg",
			Exec: func(ctx context.Context, q string) error {
				_, err := owner.DB().ExecContext(ctx, q)
				return err
			}}
	})
}

// TestServingRoleCannotChangeEntries: the serving role is refused every
// way to change, remove or unguard entries.
func TestServingRoleCannotChangeEntries(t *testing.T) {
	ctx := context.Background()
	s, owner := openAsServingRole(t)
	at := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	_, err := s.Append(ctx, "acme", []logs.Entry{{Level: logs.LevelInfo, Source: "s", Message: "keep me", CreatedAt: at}})
	require.NoError(t, err)

	p, err := s.Privilege(ctx)
	require.NoError(t, err)
	assert.Empty(t, p, "neither superuser nor owner")
	p, err = owner.Privilege(ctx)
	require.NoError(t, err)
	assert.Equal(t, "superuser", p)

	for _, q := range []string{
		"UPDATE log_entries SET message = 'changed'",
		"DELETE FROM log_entries",
		"TRUNCATE log_entries",
		"TRUNCATE log_entries_p202611",
		"UPDATE log_entries_p202611 SET message = 'changed'",
		"ALTER TABLE log_entries DISABLE TRIGGER log_entries_immutable",
		"ALTER TABLE log_entries DISABLE TRIGGER ALL",
		"ALTER TABLE log_entries_p202611 DISABLE TRIGGER ALL",
		"ALTER TABLE log_entries ADD COLUMN x int",
		"ALTER TABLE log_entries DETACH PARTITION log_entries_p202611",
		"DROP TABLE log_entries_p202611",
		"DROP TABLE log_entries",
		"DROP TRIGGER log_entries_immutable ON log_entries",
		"SET session_replication_role = replica",
		`CREATE OR REPLACE FUNCTION log_entries_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`,
		"CREATE TABLE log_entries_p209901 PARTITION OF log_entries FOR VALUES FROM ('2099-01-01') TO ('2099-02-01')",
		"SELECT log_entries_create_partition('2099-01-01')",
		// The verifiable log's evidence: insert only.
		"UPDATE log_tree_leaves SET hashes = hashes",
		"DELETE FROM log_tree_leaves",
		"TRUNCATE log_tree_leaves",
		"ALTER TABLE log_tree_leaves DISABLE TRIGGER ALL",
		"UPDATE log_tree_checkpoints SET note = ''",
		"DELETE FROM log_tree_checkpoints",
		"TRUNCATE log_tree_checkpoints",
		"DELETE FROM log_tree_heads",
	} {
		_, err := s.DB().ExecContext(ctx, q)
		require.Error(t, err, q)
		assert.Regexp(t, `permission denied|must be owner|outside the range|immutable`, err.Error(), q)
	}
	page, err := owner.Query(ctx, "acme", logquery.Filter{})
	require.NoError(t, err)
	require.EqualValues(t, 1, page.Total)
	assert.Equal(t, "keep me", page.Entries[0].Message)

	// Purge goes through the owner's connection.
	n, err := s.Purge(ctx, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
}
