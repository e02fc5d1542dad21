package logquery

import (
	"encoding/json"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ithbat/logs"
)

// Paging defaults and limits of the Logs API.
const (
	DefaultPage  = 1
	DefaultLimit = 50
	MaxLimit     = 500
	// MaxPage bounds page so that (page-1)*limit cannot overflow.
	MaxPage = 1_000_000
	// MaxCursorPage bounds the page number of a page after a cursor
	// (Filter.After set): a cursor goes on at constant cost past MaxPage,
	// and its page number is only a number, no offset.
	MaxCursorPage = math.MaxInt32
)

// Limits on the search parameter.
const (
	MaxSearchLen   = 512
	MaxSearchTerms = 16
)

// Filter selects log entries of one tenant. The zero Filter matches every
// entry; a zero Start or End is an open bound. Page and Limit select a page
// of a list query and are ignored by Match and by whole-result scans; zero
// means the default.
//
// A Filter made by a parser of this package or by [Builder.Build] remembers
// that it is valid, so that the layers it passes through (the HTTP handler,
// the store) do not validate it again: [Filter.Validate] then only
// range-checks the paging. Changing a field of such a Filter makes
// Validate check it in full again.
type Filter struct {
	Level  logs.Level
	Source string
	Search string
	Start  time.Time // inclusive; zero for none
	End    time.Time // inclusive; zero for none
	Page   int
	Limit  int
	// After, when set, starts the page after this position instead of at
	// its offset (keyset paging: the list's cursor); Page is then only the
	// page's number.
	After Position

	// valid is the filter as it was validated, with Page and Limit zero;
	// nil when it never was. It is never changed once set, so copies of a
	// Filter may share it.
	valid *Filter
}

// Builder builds a Filter fluently:
//
//	f, err := logquery.New().Level(logs.LevelError).Source("auth").
//		Since(t0).Limit(100).Build()
type Builder struct{ f Filter }

// New starts an empty Builder.
func New() *Builder { return &Builder{} }

// Level keeps entries of level l.
func (b *Builder) Level(l logs.Level) *Builder { b.f.Level = l; return b }

// Source keeps entries of source s.
func (b *Builder) Source(s string) *Builder { b.f.Source = s; return b }

// Search keeps entries whose message contains every term of q.
func (b *Builder) Search(q string) *Builder { b.f.Search = q; return b }

// Since sets the inclusive lower bound.
func (b *Builder) Since(t time.Time) *Builder { b.f.Start = t; return b }

// Until sets the inclusive upper bound.
func (b *Builder) Until(t time.Time) *Builder { b.f.End = t; return b }

// Page sets the page number (from 1).
func (b *Builder) Page(n int) *Builder { b.f.Page = n; return b }

// Limit sets the page size.
func (b *Builder) Limit(n int) *Builder { b.f.Limit = n; return b }

// Build validates the filter and returns it with defaults applied.
func (b *Builder) Build() (Filter, error) {
	f := b.f.WithDefaults()
	if err := f.validate(); err != nil {
		return f, err
	}
	f.stamp()
	return f, nil
}

// WithDefaults returns f with zero Page and Limit set to their defaults and
// both bounds in UTC.
func (f Filter) WithDefaults() Filter {
	if f.Page == 0 {
		f.Page = DefaultPage
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if !f.Start.IsZero() {
		f.Start = f.Start.UTC()
	}
	if !f.End.IsZero() {
		f.End = f.End.UTC()
	}
	return f
}

// Validate reports the first problem of f as a *logs.Error naming the field
// as a client spells it. Zero Page and Limit are valid (they mean the
// defaults). A Filter that a parser or Build made, unchanged since, is
// known to be valid: only its Page and Limit are checked.
func (f Filter) Validate() error {
	f = f.WithDefaults()
	if f.valid != nil && *f.valid == f.conditions() {
		return f.checkPaging()
	}
	return f.validate()
}

// The dates a filter may hold: the years 0001 to 9999 in UTC, which RFC
// 3339 can write and every store can hold.
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// validate checks every field of f as it is: a zero Page or Limit is
// invalid here (callers apply the defaults first).
func (f Filter) validate() error {
	if f.Level != "" && !f.Level.Valid() {
		return logs.Invalid("level", "must be one of info, warn, error; got %q", clip(string(f.Level)))
	}
	if len(f.Source) > logs.MaxSourceLen {
		return logs.Invalid("source", "is longer than %d bytes", logs.MaxSourceLen)
	}
	if err := logs.ValidText("source", f.Source); err != nil {
		return err
	}
	if err := validateSearch(f.Search); err != nil {
		return err
	}
	for _, b := range []struct {
		field string
		t     time.Time
	}{{"startDate", f.Start}, {"endDate", f.End}} {
		if !b.t.IsZero() && (b.t.Before(minTime) || b.t.After(maxTime)) {
			return logs.Invalid(b.field, "must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z once converted to UTC; got %s",
				b.t.UTC().Format(time.RFC3339Nano))
		}
	}
	if !f.Start.IsZero() && !f.End.IsZero() && f.Start.After(f.End) {
		return logs.Invalid("startDate", "is after endDate")
	}
	return f.checkPaging()
}

// checkPaging is the one range check of page and limit.
func (f Filter) checkPaging() error {
	maxPage := MaxPage
	if !f.After.IsZero() {
		maxPage = MaxCursorPage
	}
	if f.Page < 1 || f.Page > maxPage {
		return countError("page", maxPage, strconv.Itoa(f.Page))
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		return countError("limit", MaxLimit, strconv.Itoa(f.Limit))
	}
	return nil
}

func countError(field string, max int, got string) error {
	return logs.Invalid(field, "must be an integer from 1 to %d; got %q", max, clip(got))
}

// conditions is f without paging and validity: what validation depends on
// besides the paging.
func (f Filter) conditions() Filter {
	f.Page, f.Limit, f.After, f.valid = 0, 0, Position{}, nil
	return f
}

// stamp records that f, as it is now, is valid.
func (f *Filter) stamp() {
	c := f.conditions()
	f.valid = &c
}

func validateSearch(s string) error {
	if len(s) > MaxSearchLen {
		return logs.Invalid("search", "is longer than %d bytes", MaxSearchLen)
	}
	if err := logs.ValidText("search", s); err != nil {
		return err
	}
	if n := len(Terms(s)); n > MaxSearchTerms {
		return logs.Invalid("search", "has %d terms; at most %d are allowed", n, MaxSearchTerms)
	}
	return nil
}

// Offset is the number of entries before the page: (Page-1)*Limit, with
// defaults applied.
func (f Filter) Offset() int {
	f = f.WithDefaults()
	return (f.Page - 1) * f.Limit
}

// Terms splits a search into lower-cased terms: every whitespace-separated
// word, and every "double-quoted phrase" as one term (an unclosed quote runs
// to the end). Empty terms are dropped; duplicates are kept once.
func Terms(search string) []string {
	var terms []string
	seen := map[string]bool{}
	add := func(t string) {
		t = strings.ToLower(t)
		if t != "" && !seen[t] {
			seen[t] = true
			terms = append(terms, t)
		}
	}
	rest := search
	for {
		i := strings.IndexByte(rest, '"')
		if i < 0 {
			for _, w := range strings.Fields(rest) {
				add(w)
			}
			return terms
		}
		for _, w := range strings.Fields(rest[:i]) {
			add(w)
		}
		rest = rest[i+1:]
		j := strings.IndexByte(rest, '"')
		if j < 0 {
			add(strings.TrimSpace(rest))
			return terms
		}
		add(strings.TrimSpace(rest[:j]))
		rest = rest[j+1:]
	}
}

// Fold is the case folding the search uses on both the message and the
// terms. Stores that pre-compute a folded message must use it.
func Fold(s string) string { return strings.ToLower(s) }

// Match reports whether e satisfies every condition of f (paging aside).
// It is the in-memory twin of a store query.
func (f Filter) Match(e logs.Entry) bool {
	if f.Level != "" && e.Level != f.Level {
		return false
	}
	if f.Source != "" && e.Source != f.Source {
		return false
	}
	if !f.Start.IsZero() && e.CreatedAt.Before(f.Start) {
		return false
	}
	if !f.End.IsZero() && e.CreatedAt.After(f.End) {
		return false
	}
	if f.Search != "" {
		msg := Fold(e.Message)
		for _, t := range Terms(f.Search) {
			if !strings.Contains(msg, t) {
				return false
			}
		}
	}
	return true
}

// Matcher is a Filter with its search terms parsed once, for matching many
// entries (the live stream).
type Matcher struct {
	f     Filter
	terms []string
}

// Matcher returns f prepared for repeated matching.
func (f Filter) Matcher() *Matcher {
	return &Matcher{f: Filter{Level: f.Level, Source: f.Source, Start: f.Start, End: f.End}, terms: Terms(f.Search)}
}

// Match is Filter.Match without re-parsing the search.
func (m *Matcher) Match(e logs.Entry) bool {
	if !m.f.Match(e) {
		return false
	}
	if len(m.terms) > 0 {
		msg := Fold(e.Message)
		for _, t := range m.terms {
			if !strings.Contains(msg, t) {
				return false
			}
		}
	}
	return true
}

// ParseTime parses a date parameter: RFC 3339 with an offset (converted to
// UTC), or a bare date YYYY-MM-DD, which is the start of that UTC day, or
// with endOfDay its last microsecond. field names the parameter in errors.
// The range of dates a Filter takes (years 0001 to 9999 in UTC) is checked
// by its validation.
func ParseTime(field, s string, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			t = t.Add(24*time.Hour - time.Microsecond)
		}
		return t, nil
	}
	return time.Time{}, logs.Invalid(field, "must be an RFC 3339 timestamp with an offset (2026-03-01T00:00:00Z) or a date (2026-03-01); got %q", clip(s))
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// field is one field of a filter as a client writes it: its name in a
// query string or a JSON body, how its text sets a Filter, and how a
// Filter writes it back (nil for the paging fields, which Raw omits).
type field struct {
	name   string
	parse  func(f *Filter, s string) error
	format func(f Filter) string
}

// filterFields is THE list of a filter's fields; pagingFields follow them
// in a list request.
var (
	filterFields = []field{
		{"level", func(f *Filter, s string) error { f.Level = logs.Level(s); return nil },
			func(f Filter) string { return string(f.Level) }},
		{"source", func(f *Filter, s string) error { f.Source = s; return nil },
			func(f Filter) string { return f.Source }},
		{"search", func(f *Filter, s string) error { f.Search = s; return nil },
			func(f Filter) string { return f.Search }},
		{"startDate", func(f *Filter, s string) (err error) { f.Start, err = ParseTime("startDate", s, false); return err },
			func(f Filter) string { return formatBound(startMicro(f.Start)) }},
		{"endDate", func(f *Filter, s string) (err error) {
			f.End, err = ParseTime("endDate", s, true)
			if err == nil && f.End.IsZero() {
				// 0001-01-01T00:00:00Z is the zero time, "no bound". As a
				// bound it selects what the next microsecond does: nothing.
				f.End = f.End.Add(time.Microsecond)
			}
			return err
		}, func(f Filter) string { return formatBound(f.End) }},
	}
	pagingFields = []field{
		{"page", func(f *Filter, s string) error { return parseCount(&f.Page, "page", s, MaxPage) }, nil},
		{"limit", func(f *Filter, s string) error { return parseCount(&f.Limit, "limit", s, MaxLimit) }, nil},
	}
)

// Fields names the fields of a filter, as a query string or a JSON body
// spells them: level, source, search, startDate, endDate. PagingFields
// names the paging parameters of a list: page, limit. They must not be
// modified.
var (
	Fields       = names(filterFields)
	PagingFields = names(pagingFields)
)

func names(fs []field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.name
	}
	return out
}

// startMicro is an inclusive start at the microsecond of the entries'
// times: rounded up, since an entry before a finer start is before it. (A
// start written to the microsecond, as Raw and the cursors do, must select
// what the finer one did.)
func startMicro(t time.Time) time.Time {
	if c := t.Truncate(time.Microsecond); c.Before(t) && !c.Add(time.Microsecond).After(maxTime) {
		return c.Add(time.Microsecond)
	}
	return t
}

func formatBound(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return logs.FormatTime(t)
}

// parseCount reads a page number or a page size; the range is checked by
// the filter's validation.
func parseCount(dst *int, field, s string, max int) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return countError(field, max, s)
	}
	*dst = n
	return nil
}

// parse is the one parser of a filter as a client writes it, behind
// ParseValues, ParseJSON and Raw.Filter: value returns the text of a field
// ("" when it is not given, which is the same as empty). The paging fields
// are read only with paging; the defaults stand for those not given. The
// Filter is validated and remembers it.
func parse(value func(name string) (string, error), paging bool) (Filter, error) {
	f := Filter{Page: DefaultPage, Limit: DefaultLimit}
	read := func(fs []field) error {
		for _, fd := range fs {
			s, err := value(fd.name)
			if err != nil {
				return err
			}
			if s == "" {
				continue
			}
			if err := fd.parse(&f, s); err != nil {
				return err
			}
		}
		return nil
	}
	if err := read(filterFields); err != nil {
		return Filter{}, err
	}
	if paging {
		if err := read(pagingFields); err != nil {
			return Filter{}, err
		}
	}
	if err := f.validate(); err != nil {
		return Filter{}, err
	}
	f.stamp()
	return f, nil
}

// ParseValues reads a Filter from query parameters (the [Fields] and
// [PagingFields]), applies the defaults and validates it. An empty value is
// the same as none; a parameter given twice is an error. Other parameters
// are not looked at: refusing them is the caller's business (loghttp
// refuses every parameter an endpoint does not take).
func ParseValues(v url.Values) (Filter, error) {
	return parse(func(name string) (string, error) {
		vals := v[name]
		if len(vals) > 1 {
			return "", logs.Invalid(name, "is given more than once")
		}
		if len(vals) == 0 {
			return "", nil
		}
		return vals[0], nil
	}, true)
}

// Raw is a filter as a client writes it: the text of each of its [Fields],
// by name; a field absent or empty is no condition. Paging is not part of
// it. As JSON it is an object of strings, the form in which a filter is
// kept (export jobs, stream tickets).
type Raw map[string]string

// Filter parses and validates r. A name that is not one of [Fields] is an
// error naming it.
func (r Raw) Filter() (Filter, error) {
	for _, name := range slices.Sorted(maps.Keys(r)) {
		if !slices.Contains(Fields, name) {
			return Filter{}, logs.Invalid(clip(name), "is not a filter field (fields: %s)", strings.Join(Fields, ", "))
		}
	}
	return parse(func(name string) (string, error) { return r[name], nil }, false)
}

// Raw returns the filter's conditions as a client would write them (the
// bounds in [logs.TimeFormat]). Parsing the result gives f back, paging
// aside.
func (f Filter) Raw() Raw {
	r := Raw{}
	for _, fd := range filterFields {
		if s := fd.format(f); s != "" {
			r[fd.name] = s
		}
	}
	return r
}

// ParseJSON reads the filter fields of a JSON object (other members are
// ignored) and validates them. A field is a string or null (none); any
// other JSON type is an error naming it.
func ParseJSON(data []byte) (Filter, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return Filter{}, logs.Invalid("", "the body is not a JSON object")
	}
	return parse(func(name string) (string, error) {
		raw, ok := obj[name]
		if !ok || string(raw) == "null" {
			return "", nil
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", logs.Invalid(name, "must be a string")
		}
		return s, nil
	}, false)
}

// String renders f for logs and error messages.
func (f Filter) String() string {
	m := map[string]any{}
	for k, v := range f.Raw() {
		m[k] = v
	}
	if f.Page != 0 {
		m["page"] = f.Page
	}
	if f.Limit != 0 {
		m["limit"] = f.Limit
	}
	b, _ := json.Marshal(m)
	return string(b)
}
