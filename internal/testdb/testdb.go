// Package testdb gives tests scratch databases: a fresh PostgreSQL database
// per call, dropped when the test ends, and a fresh SQLite file.
//
// PostgreSQL is found through LOGS_TEST_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). When it cannot
// be reached the test is skipped, except when CI is set (CI must run the
// PostgreSQL tests) or LOGS_TEST_REQUIRE_POSTGRES=1, where it fails.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// AdminURL is the PostgreSQL server used to create scratch databases.
func AdminURL() string {
	if u := os.Getenv("LOGS_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

func mustHavePostgres() bool {
	return os.Getenv("CI") != "" || os.Getenv("LOGS_TEST_REQUIRE_POSTGRES") == "1"
}

// Postgres creates an empty database and returns its URL; the database is
// dropped (its connections terminated) when tb ends.
func Postgres(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		if mustHavePostgres() {
			tb.Fatalf("testdb: PostgreSQL is required here (CI): %v", err)
		}
		tb.Skipf("testdb: PostgreSQL not reachable at %s: %v", AdminURL(), err)
	}
	defer admin.Close(context.Background())
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "logs_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("testdb: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			tb.Errorf("testdb: drop %s: %v", name, err)
			return
		}
		defer admin.Close(context.Background())
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("testdb: drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(AdminURL())
	if err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// SQLite returns the URL of a fresh SQLite file in a temporary folder.
func SQLite(tb testing.TB) string {
	tb.Helper()
	return "sqlite://" + filepath.Join(tb.TempDir(), "logs.db")
}

// Backends lists the store URLs a backend-generic test runs on, by name:
// "sqlite" always, "postgres" when reachable (see package doc).
func Backends() []string { return []string{"sqlite", "postgres"} }

// URL returns a fresh database URL for the named backend.
func URL(tb testing.TB, backend string) string {
	tb.Helper()
	switch backend {
	case "sqlite":
		return SQLite(tb)
	case "postgres":
		return Postgres(tb)
	}
	panic(fmt.Sprintf("testdb: unknown backend %q", backend))
}

// PostgresRole creates a login role with no privileges (a serving role
// that a migration grants what it needs) and returns dbURL (a database
// made by Postgres) with that role as its user. The role is dropped when tb
// ends, with its privileges in that database.
func PostgresRole(tb testing.TB, dbURL string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	defer admin.Close(context.Background())
	var b [6]byte
	_, _ = rand.Read(b[:])
	role := "logs_app_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN"); err != nil {
		tb.Fatalf("testdb: create role: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, step := range []struct{ url, sql string }{
			{dbURL, "DROP OWNED BY " + role},
			{AdminURL(), "DROP ROLE IF EXISTS " + role},
		} {
			c, err := pgx.Connect(ctx, step.url)
			if err != nil {
				tb.Errorf("testdb: drop role %s: %v", role, err)
				return
			}
			_, err = c.Exec(ctx, step.sql)
			_ = c.Close(context.Background())
			if err != nil {
				tb.Errorf("testdb: drop role %s: %v", role, err)
				return
			}
		}
	})
	u, err := url.Parse(dbURL)
	if err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	u.User = url.User(role)
	return u.String()
}
