package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ithbat/logs"
)

// errUnavailable and friends are the codes the translator picks.
var (
	errUnavailable = logs.ErrUnavailable
	errInvalid     = logs.ErrInvalid
	errConflict    = logs.ErrConflict
	errInternal    = logs.ErrInternal
)

// wrap is THE translator from database errors to the service's codes: every
// method of the package passes its database errors through it, with the
// operation's name. nil stays nil; an error that already carries a code (a
// validation error of ours) keeps it.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if s.isClosed() {
		return fmt.Errorf("bunstore: %s: %w: store closed: %w", op, errUnavailable, err)
	}
	err = fmt.Errorf("bunstore: %s: %w", op, classify(err))
	if code := logs.Code(err); s.opts.OnError != nil && (code == logs.CodeInternal || code == logs.CodeUnavailable) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		s.opts.OnError(op, code)
	}
	return err
}

// classify returns err wrapped with its code.
func classify(err error) error {
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case logs.Code(err) != logs.CodeInternal:
		return err // already ours
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err // the caller's context: not the database's fault
	case errors.Is(err, sql.ErrConnDone), errors.As(err, &netErr):
		return fmt.Errorf("%w: %w", errUnavailable, err)
	case errors.As(err, &pgErr):
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "57P"), // admin shutdown, crash
			pgErr.Code == "53300",                // too many connections
			pgErr.Code == "40001",                // serialization failure: retry
			pgErr.Code == "40P01":                // deadlock detected: retry
			return fmt.Errorf("%w: %w", errUnavailable, err)
		case pgErr.Code == "23505": // unique violation
			return fmt.Errorf("%w: %w", errConflict, err)
		case strings.HasPrefix(pgErr.Code, "22"): // data exception: a value out of range
			return fmt.Errorf("%w: %w", errInvalid, err)
		}
	default:
		msg := err.Error()
		switch {
		case strings.Contains(msg, "database is locked"), strings.Contains(msg, "SQLITE_BUSY"):
			return fmt.Errorf("%w: %w", errUnavailable, err)
		case strings.Contains(msg, "UNIQUE constraint failed"):
			return fmt.Errorf("%w: %w", errConflict, err)
		}
	}
	return fmt.Errorf("%w: %w", errInternal, err)
}

// isPrivilegeError reports whether err is PostgreSQL's refusal for lack of
// privileges (or ownership).
func isPrivilegeError(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "42501" || pgErr.Code == "42000")
}

// isMissingPartition reports whether err is PostgreSQL's refusal of a row
// for which the partitioned table has no partition.
func isMissingPartition(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23514" && strings.Contains(pgErr.Message, "no partition")
}
