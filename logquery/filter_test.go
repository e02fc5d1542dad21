package logquery_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
)

func TestParseValues(t *testing.T) {
	f, err := logquery.ParseValues(url.Values{})
	require.NoError(t, err)
	assert.Equal(t, 1, f.Page)
	assert.Equal(t, 50, f.Limit)

	f, err = logquery.ParseValues(url.Values{
		"level": {"error"}, "source": {"auth"}, "search": {"failed"},
		"startDate": {"2026-03-01T00:00:00Z"}, "endDate": {"2026-03-19T23:59:59+02:00"},
		"page": {"3"}, "limit": {"500"}, "unknown": {"ignored"},
	})
	require.NoError(t, err)
	assert.Equal(t, logs.LevelError, f.Level)
	assert.Equal(t, "auth", f.Source)
	assert.Equal(t, "failed", f.Search)
	assert.Equal(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), f.Start)
	assert.Equal(t, time.Date(2026, 3, 19, 21, 59, 59, 0, time.UTC), f.End, "offsets are converted to UTC")
	assert.Equal(t, time.UTC, f.End.Location())
	assert.Equal(t, 3, f.Page)
	assert.Equal(t, 500, f.Limit)
	assert.Equal(t, 1000, f.Offset())

	f, err = logquery.ParseValues(url.Values{"startDate": {"2026-03-19"}, "endDate": {"2026-03-19"}})
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 3, 19, 0, 0, 0, 0, time.UTC), f.Start)
	assert.Equal(t, time.Date(2026, 3, 19, 23, 59, 59, 999999000, time.UTC), f.End)
}

func TestParseValuesErrorsNameTheField(t *testing.T) {
	cases := []struct {
		q     string
		field string
	}{
		{"level=debug", "level"},
		{"level=ERROR", "level"},
		{"level=info&level=warn", "level"},
		{"startDate=yesterday", "startDate"},
		{"startDate=2026-03-01T00:00:00", "startDate"},
		{"endDate=2026-13-01", "endDate"},
		{"startDate=0000-01-01T00:00:00Z", "startDate"},
		{"startDate=0001-01-01T00:00:00%2B14:00", "startDate"},
		{"endDate=0000-12-31", "endDate"},
		{"endDate=9999-12-31T23:59:59-00:01", "endDate"},
		{"startDate=2026-03-02&endDate=2026-03-01", "startDate"},
		{"page=0", "page"},
		{"page=-1", "page"},
		{"page=x", "page"},
		{"page=99999999999999999999", "page"},
		{"limit=0", "limit"},
		{"limit=501", "limit"},
		{"limit=1.5", "limit"},
		{"search=" + strings.Repeat("a", logquery.MaxSearchLen+1), "search"},
		{"search=" + manyTerms(logquery.MaxSearchTerms+1), "search"},
		{"search=%FF", "search"},
		{"search=a%00b", "search"},
		{"source=a%00", "source"},
		{"source=" + strings.Repeat("s", logs.MaxSourceLen+1), "source"},
	}
	for _, c := range cases {
		t.Run(c.q[:min(len(c.q), 40)], func(t *testing.T) {
			v, err := url.ParseQuery(c.q)
			require.NoError(t, err)
			_, err = logquery.ParseValues(v)
			require.ErrorIs(t, err, logs.ErrInvalid)
			assert.Equal(t, logs.CodeInvalid, logs.Code(err))
			assert.Equal(t, c.field, logs.FieldOf(err))
		})
	}
}

// Dates are years 0001 to 9999 in UTC, whoever makes the Filter.
func TestDateRange(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(0, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		assert.Equal(t, "startDate", logs.FieldOf(logquery.Filter{Start: tm}.Validate()), tm)
		assert.Equal(t, "endDate", logs.FieldOf(logquery.Filter{End: tm}.Validate()), tm)
		_, err := logquery.New().Until(tm).Build()
		assert.Equal(t, "endDate", logs.FieldOf(err), tm)
	}
	for _, tm := range []time.Time{time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)} {
		assert.NoError(t, logquery.Filter{Start: tm, End: tm}.Validate(), tm)
	}
	// The zero time is no bound; as endDate it selects nothing, as it says.
	f, err := logquery.ParseValues(url.Values{"endDate": {"0001-01-01T00:00:00Z"}, "startDate": {"0001-01-01T00:00:00Z"}})
	require.NoError(t, err)
	assert.True(t, f.Start.IsZero())
	assert.False(t, f.End.IsZero())
	assert.False(t, f.Match(logs.Entry{CreatedAt: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)}))
	back, err := f.Raw().Filter()
	require.NoError(t, err)
	assert.Equal(t, f.End, back.End)
}

func TestParseJSON(t *testing.T) {
	f, err := logquery.ParseJSON([]byte(`{"format":"csv","level":"warn","startDate":"2026-03-01","endDate":"2026-03-19T23:59:59Z"}`))
	require.NoError(t, err)
	assert.Equal(t, logs.LevelWarn, f.Level)
	assert.Equal(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), f.Start)

	_, err = logquery.ParseJSON([]byte(`{"level":3}`))
	assert.Equal(t, "level", logs.FieldOf(err))
	_, err = logquery.ParseJSON([]byte(`{"endDate":"never"}`))
	assert.Equal(t, "endDate", logs.FieldOf(err))
	_, err = logquery.ParseJSON([]byte(`[`))
	require.ErrorIs(t, err, logs.ErrInvalid)
}

func TestTerms(t *testing.T) {
	cases := map[string][]string{
		"":                          nil,
		"   ":                       nil,
		"Failed LOGIN":              {"failed", "login"},
		`"failed login" mfa`:        {"failed login", "mfa"},
		`mfa "failed  login"`:       {"mfa", "failed  login"},
		`"unclosed phrase`:          {"unclosed phrase"},
		`a a A`:                     {"a"},
		`100% user_name C:\temp ""`: {"100%", "user_name", `c:\temp`},
	}
	for in, want := range cases {
		assert.Equal(t, want, logquery.Terms(in), in)
	}
}

func TestMatch(t *testing.T) {
	at := time.Date(2026, 3, 18, 14, 32, 7, 0, time.UTC)
	e := logs.Entry{Level: logs.LevelError, Source: "auth", Message: "Failed login attempt — invalid credentials", CreatedAt: at}
	yes := []logquery.Filter{
		{},
		{Level: logs.LevelError, Source: "auth"},
		{Search: "FAILED credentials"},
		{Search: `"login attempt"`},
		{Start: at, End: at},
	}
	no := []logquery.Filter{
		{Level: logs.LevelWarn},
		{Source: "admin"},
		{Search: "failed mfa"},
		{Search: `"attempt login"`},
		{Start: at.Add(time.Microsecond)},
		{End: at.Add(-time.Microsecond)},
	}
	for _, f := range yes {
		assert.True(t, f.Match(e), f.String())
		assert.True(t, f.Matcher().Match(e), f.String())
	}
	for _, f := range no {
		assert.False(t, f.Match(e), f.String())
		assert.False(t, f.Matcher().Match(e), f.String())
	}
}

func TestBuilder(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("x", 3600))
	f, err := logquery.New().Level(logs.LevelError).Source("auth").Search("x").Since(t0).Until(t0.Add(time.Hour)).Page(2).Limit(10).Build()
	require.NoError(t, err)
	assert.Equal(t, logs.LevelError, f.Level)
	assert.Equal(t, "auth", f.Source)
	assert.Equal(t, "x", f.Search)
	assert.Equal(t, t0.UTC(), f.Start)
	assert.Equal(t, t0.Add(time.Hour).UTC(), f.End)
	assert.Equal(t, 2, f.Page)
	assert.Equal(t, 10, f.Limit)
	_, err = logquery.New().Since(t0.Add(time.Hour)).Until(t0).Build()
	assert.Equal(t, "startDate", logs.FieldOf(err))
	_, err = logquery.New().Limit(1000).Build()
	assert.Equal(t, "limit", logs.FieldOf(err))
	r := f.Raw()
	back, err := r.Filter()
	require.NoError(t, err)
	assert.Equal(t, f.Start, back.Start)
	assert.Equal(t, f.Raw(), back.Raw())
}

// The paging is range-checked in one place: a query string and a Filter
// built in code get the same answer.
func TestPagingOneCheck(t *testing.T) {
	cases := []struct {
		query string
		f     logquery.Filter
		want  string
	}{
		{"page=0", logquery.Filter{Page: -1}, "page: must be an integer from 1 to 1000000"},
		{"page=1000001", logquery.Filter{Page: logquery.MaxPage + 1}, "page: must be an integer from 1 to 1000000"},
		{"limit=0", logquery.Filter{Limit: -5}, "limit: must be an integer from 1 to 500"},
		{"limit=501", logquery.Filter{Limit: 501}, "limit: must be an integer from 1 to 500"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			v, err := url.ParseQuery(c.query)
			require.NoError(t, err)
			_, err = logquery.ParseValues(v)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			err = c.f.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			_, err = logquery.New().Page(c.f.Page).Limit(c.f.Limit).Build()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	assert.NoError(t, logquery.Filter{}.Validate(), "zero paging is the default")
}

// A parsed Filter is validated once; a field changed afterwards is
// validated again, so a store still refuses an invalid Filter.
func TestValidatedFilterChanged(t *testing.T) {
	f, err := logquery.ParseValues(url.Values{"level": {"error"}, "search": {"login"}})
	require.NoError(t, err)
	require.NoError(t, f.Validate())
	f.Page, f.Limit = 0, 0
	assert.NoError(t, f.Validate(), "paging back to the defaults")
	f.Limit = 501
	assert.Equal(t, "limit", logs.FieldOf(f.Validate()))
	f.Limit = 0

	changed := f
	changed.Level = "fatal"
	assert.Equal(t, "level", logs.FieldOf(changed.Validate()))
	changed = f
	changed.Search = strings.ReplaceAll(manyTerms(logquery.MaxSearchTerms+1), "+", " ")
	assert.Equal(t, "search", logs.FieldOf(changed.Validate()))
	changed = f
	changed.Start = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	changed.End = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, "startDate", logs.FieldOf(changed.Validate()))
	assert.NoError(t, f.Validate(), "the original is untouched")

	assert.Equal(t, "level", logs.FieldOf(logquery.Filter{Level: "fatal"}.Validate()), "a literal is validated")
}

func TestRaw(t *testing.T) {
	f, err := logquery.Raw{"level": "warn", "startDate": "2026-03-01", "endDate": "2026-03-01"}.Filter()
	require.NoError(t, err)
	assert.Equal(t, logquery.Raw{"level": "warn", "startDate": logs.FormatTime(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)),
		"endDate": logs.FormatTime(time.Date(2026, 3, 1, 23, 59, 59, 999999000, time.UTC))}, f.Raw())
	_, err = logquery.Raw{"level": "warn", "page": "2"}.Filter()
	assert.Equal(t, "page", logs.FieldOf(err), "paging is not part of a Raw")
	_, err = logquery.Raw{"Level": "warn"}.Filter()
	assert.Equal(t, "Level", logs.FieldOf(err))
	f, err = logquery.Raw{"level": ""}.Filter()
	require.NoError(t, err)
	assert.Equal(t, logquery.Raw{}, f.Raw(), "empty is none")
	assert.Equal(t, []string{"level", "source", "search", "startDate", "endDate"}, logquery.Fields)
	assert.Equal(t, []string{"page", "limit"}, logquery.PagingFields)
}

func manyTerms(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "t%d+", i)
	}
	return b.String()
}

// TestRawStartFinerThanMicroseconds: a start finer than the microsecond is
// written (Raw: an export job's filter, a ticket's) rounded up, so that the
// filter read back selects the same entries: an entry of ...00.000000Z is
// before ...00.0000005Z either way.
func TestRawStartFinerThanMicroseconds(t *testing.T) {
	f, err := logquery.ParseValues(url.Values{"startDate": {"2026-12-01T10:00:00.0000005Z"}, "endDate": {"2026-12-01T11:00:00.0000005Z"}})
	require.NoError(t, err)
	assert.Equal(t, logquery.Raw{"startDate": "2026-12-01T10:00:00.000001Z", "endDate": "2026-12-01T11:00:00.000000Z"}, f.Raw())
	back, err := f.Raw().Filter()
	require.NoError(t, err)
	for _, at := range []time.Time{time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 10, 0, 0, 1000, time.UTC),
		time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 11, 0, 0, 1000, time.UTC)} {
		assert.Equal(t, f.Match(logs.Entry{CreatedAt: at}), back.Match(logs.Entry{CreatedAt: at}), at)
	}
}
