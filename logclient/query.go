package logclient

import (
	"context"
	"encoding/json"
	"iter"
	"strconv"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
)

// Page is one page of the list, as GET /api/v1/logs answers it.
type Page struct {
	Logs       []logs.Entry `json:"logs"`
	Total      int64        `json:"total"`
	Page       int          `json:"page"`
	Limit      int          `json:"limit"`
	NextCursor string       `json:"-"` // "" on the last page

	// byNumber: the server's answer had no nextCursor (a server of the
	// API document alone), so the next page is asked for by its number.
	byNumber bool
}

// Query returns one page of the entries that match f, newest first: f.Page
// and f.Limit select it (zero: the server's defaults, page 1 of 50).
// Metadata numbers are json.Number, so that they keep their digits.
func (c *Client) Query(ctx context.Context, f logquery.Filter) (*Page, error) {
	q := filterValues(f)
	if f.Page != 0 {
		q.Set("page", strconv.Itoa(f.Page))
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return c.page(ctx, q)
}

// QueryCursor returns the page after the one that answered cursor (its
// NextCursor); f must be the filter and limit of that page.
func (c *Client) QueryCursor(ctx context.Context, f logquery.Filter, cursor string) (*Page, error) {
	q := filterValues(f)
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	q.Set("cursor", cursor)
	return c.page(ctx, q)
}

func (c *Client) page(ctx context.Context, q map[string][]string) (*Page, error) {
	var data struct {
		Page
		NextCursor json.RawMessage `json:"nextCursor"`
	}
	resp, err := c.do(ctx, "GET", "/api/v1/logs", q, nil, "", &data)
	if err != nil {
		return nil, err
	}
	if data.Logs == nil {
		return nil, badAnswer(resp, "the list's answer has no logs array")
	}
	for _, e := range data.Logs {
		if e.TenantID != c.tenant {
			return nil, badAnswer(resp, "the list holds an entry of tenant %q, not %q", oneLine(e.TenantID, 100), c.tenant)
		}
	}
	p := data.Page
	switch {
	case len(data.NextCursor) == 0:
		p.byNumber = true
	case string(data.NextCursor) != "null":
		if json.Unmarshal(data.NextCursor, &p.NextCursor) != nil || p.NextCursor == "" {
			return nil, badAnswer(resp, "the list's nextCursor is not a string or null")
		}
	}
	return &p, nil
}

// All yields every entry that matches f, newest first, from f.Page (or the
// first), following the list's cursor page after page at constant cost
// (f.Limit entries a request, 500 when zero); from a server that offers no
// cursor, by page number. An error is yielded once and
// ends the sequence.
func (c *Client) All(ctx context.Context, f logquery.Filter) iter.Seq2[logs.Entry, error] {
	return func(yield func(logs.Entry, error) bool) {
		if f.Limit == 0 {
			f.Limit = logquery.MaxLimit
		}
		p, err := c.Query(ctx, f)
		seen := map[string]bool{}
		for {
			if err != nil {
				yield(logs.Entry{}, err)
				return
			}
			for _, e := range p.Logs {
				if seen[e.ID] { // never, but a page never yields an entry twice
					continue
				}
				seen[e.ID] = true
				if !yield(e, nil) {
					return
				}
			}
			// Pages by cursor do not overlap; pages by number shift when
			// entries arrive meanwhile: the last page's ids are skipped.
			clear(seen)
			for _, e := range p.Logs {
				seen[e.ID] = true
			}
			switch {
			case p.NextCursor != "":
				p, err = c.QueryCursor(ctx, f, p.NextCursor)
			case p.byNumber && len(p.Logs) > 0 && int64(p.Page)*int64(p.Limit) < p.Total:
				f.Page = p.Page + 1
				p, err = c.Query(ctx, f)
			default:
				return
			}
		}
	}
}
