// Package logquery describes which log entries a reader wants: a [Filter] of
// level, source, message search, an inclusive time range, and a page.
//
// A Filter comes from a [Builder] in code, from the query string of a request
// ([ParseValues]) or from a JSON body ([ParseJSON]). The same Filter drives a
// store query and, through [Filter.Match], the in-memory matching of the live
// stream, with the same semantics:
//
//   - level and source match exactly;
//   - startDate and endDate are inclusive bounds on createdAt. They are
//     RFC 3339 timestamps with an offset, or a bare date 2026-03-19, which
//     is a UTC day: its start for startDate, its last microsecond for
//     endDate;
//   - search is case-insensitive (Unicode lower case, as Go's
//     strings.ToLower) and requires the message to contain every
//     whitespace-separated term and every "double-quoted phrase" as a whole.
//     %, _ and backslashes are literal characters;
//   - page starts at 1 (default 1); limit is 1 to [MaxLimit] (default
//     [DefaultLimit]).
//
// The package is pure Go: it knows nothing of SQL.
//
// # Errors
//
// Parsing and validation return a *logs.FieldError (so logs.Code is
// invalid_argument) naming the parameter as the client spelled it, for
// example "startDate".
//
// # Concurrency
//
// A Filter is a value; it is safe to share once built. A Builder is not
// safe for concurrent use.
package logquery
