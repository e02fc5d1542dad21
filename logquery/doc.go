// Package logquery describes which log entries a reader wants: a [Filter] of
// level, source, message search, an inclusive time range, and a page.
//
// A Filter comes from a [Builder] in code, or from its fields as a client
// writes them: the query string of a request ([ParseValues]), a JSON body
// ([ParseJSON]), or a [Raw] (the same fields as a map of strings, the form
// in which export jobs and stream tickets keep a filter). [Fields] is the
// one list of those fields (level, source, search, startDate, endDate) and
// [PagingFields] the paging parameters of a list (page, limit); every
// parser of the package reads them through one function, with the same
// rules. The same Filter drives a store query and, through [Filter.Match],
// the in-memory matching of the live stream, with the same semantics:
//
//   - level and source match exactly;
//   - startDate and endDate are inclusive bounds on createdAt. They are
//     RFC 3339 timestamps with an offset, or a bare date 2026-03-19, which
//     is a UTC day: its start for startDate, its last microsecond for
//     endDate. A bound must lie in the years 0001 to 9999 once converted
//     to UTC (what RFC 3339 writes and every store holds);
//   - search is case-insensitive (Unicode lower case, as Go's
//     strings.ToLower) and requires the message to contain every
//     whitespace-separated term and every "double-quoted phrase" as a whole.
//     %, _ and backslashes are literal characters;
//   - page starts at 1 (default 1); limit is 1 to [MaxLimit] (default
//     [DefaultLimit]). An empty value is the same as none.
//
// # Validated once
//
// A parser and [Builder.Build] validate the Filter they return, and the
// Filter remembers it: [Filter.Validate], which every store calls, then only
// range-checks the paging (in the one place that does, whoever made the
// Filter). A Filter made otherwise (a literal), or changed after it was
// made, is validated in full, so a store never runs an invalid Filter.
//
// The package is pure Go: it knows nothing of SQL.
//
// # Errors
//
// Parsing and validation return a *logs.Error of kind logs.ErrInvalid
// (logs.Code is invalid_argument) naming the field as the client spelled
// it, for example "startDate".
//
// # Concurrency
//
// A Filter is a value; it is safe to share once built. A Builder is not
// safe for concurrent use.
package logquery
