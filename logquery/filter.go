package logquery

import (
	"encoding/json"
	"fmt"
	"net/url"
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
type Filter struct {
	Level  logs.Level
	Source string
	Search string
	Start  time.Time // inclusive; zero for none
	End    time.Time // inclusive; zero for none
	Page   int
	Limit  int
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
	return f, f.Validate()
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

// Validate reports the first problem of f as a *logs.FieldError. Zero Page
// and Limit are valid (they mean the defaults).
func (f Filter) Validate() error {
	if f.Level != "" && !f.Level.Valid() {
		return logs.Invalid("level", "must be one of info, warn, error; got %q", string(f.Level))
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
	if !f.Start.IsZero() && !f.End.IsZero() && f.Start.After(f.End) {
		return logs.Invalid("startDate", "is after endDate")
	}
	if f.Page < 0 || f.Page > MaxPage {
		return logs.Invalid("page", "must be an integer from 1 to %d", MaxPage)
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return logs.Invalid("limit", "must be an integer from 1 to %d", MaxLimit)
	}
	return nil
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

// ParseValues reads a Filter from query parameters (level, source, search,
// startDate, endDate, page, limit), applies the defaults and validates it.
// Unknown parameters are ignored; a parameter given twice is an error.
func ParseValues(v url.Values) (Filter, error) {
	var r Raw
	for _, p := range []struct {
		name string
		dst  *string
	}{{"level", &r.Level}, {"source", &r.Source}, {"search", &r.Search}, {"startDate", &r.StartDate}, {"endDate", &r.EndDate}} {
		vals := v[p.name]
		if len(vals) > 1 {
			return Filter{}, logs.Invalid(p.name, "is given more than once")
		}
		if len(vals) == 1 {
			*p.dst = vals[0]
		}
	}
	f, err := r.Filter()
	if err != nil {
		return Filter{}, err
	}
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"page", &f.Page, MaxPage}, {"limit", &f.Limit, MaxLimit}} {
		vals := v[p.name]
		if len(vals) > 1 {
			return Filter{}, logs.Invalid(p.name, "is given more than once")
		}
		if len(vals) == 0 || vals[0] == "" {
			continue
		}
		n, err := strconv.Atoi(vals[0])
		if err != nil || n < 1 || n > p.max {
			return Filter{}, logs.Invalid(p.name, "must be an integer from 1 to %d; got %q", p.max, clip(vals[0]))
		}
		*p.dst = n
	}
	f = f.WithDefaults()
	return f, f.Validate()
}

// Raw is a Filter's fields as a client writes them, in a JSON body (the
// export request) or a query string. Paging is not part of it.
type Raw struct {
	Level     string `json:"level,omitempty"`
	Source    string `json:"source,omitempty"`
	Search    string `json:"search,omitempty"`
	StartDate string `json:"startDate,omitempty"`
	EndDate   string `json:"endDate,omitempty"`
}

// Filter converts r, validating every field.
func (r Raw) Filter() (Filter, error) {
	f := Filter{Level: logs.Level(r.Level), Source: r.Source, Search: r.Search}
	var err error
	if r.StartDate != "" {
		if f.Start, err = ParseTime("startDate", r.StartDate, false); err != nil {
			return Filter{}, err
		}
	}
	if r.EndDate != "" {
		if f.End, err = ParseTime("endDate", r.EndDate, true); err != nil {
			return Filter{}, err
		}
	}
	f = f.WithDefaults()
	return f, f.Validate()
}

// Raw returns the filter's conditions as a client would write them.
func (f Filter) Raw() Raw {
	r := Raw{Level: string(f.Level), Source: f.Source, Search: f.Search}
	if !f.Start.IsZero() {
		r.StartDate = logs.FormatTime(f.Start)
	}
	if !f.End.IsZero() {
		r.EndDate = logs.FormatTime(f.End)
	}
	return r
}

// ParseJSON reads the filter fields of a JSON object (other fields are
// ignored) and validates them. A field of the wrong JSON type is an error
// naming it.
func ParseJSON(data []byte) (Filter, error) {
	var r Raw
	if err := json.Unmarshal(data, &r); err != nil {
		var te *json.UnmarshalTypeError
		if ok := asTypeError(err, &te); ok {
			return Filter{}, logs.Invalid(te.Field, "must be a string")
		}
		return Filter{}, logs.Invalid("", "the body is not a JSON object: %v", err)
	}
	return r.Filter()
}

func asTypeError(err error, target **json.UnmarshalTypeError) bool {
	te, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*target = te
	}
	return ok
}

// String renders f for logs and error messages.
func (f Filter) String() string {
	b, _ := json.Marshal(struct {
		Raw
		Page  int `json:"page,omitempty"`
		Limit int `json:"limit,omitempty"`
	}{f.Raw(), f.Page, f.Limit})
	return fmt.Sprint(string(b))
}
