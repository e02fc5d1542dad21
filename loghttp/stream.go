package loghttp

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
	"github.com/ithbat/logs/logstream"
)

// maxTicketBody bounds the body of a ticket request.
const maxTicketBody = 64 << 10

// streamLogs serves GET /api/v1/logs/stream. It authenticates the request
// itself: with the bearer token of the Authorization header (like every
// route), or with a stream ticket in the ticket parameter.
func (s *Server) streamLogs(w http.ResponseWriter, r *http.Request, c *call) error {
	b := s.opts.Stream
	if b == nil {
		return logs.NewError(logs.ErrNotFound, "", "the live stream is not enabled on this server")
	}
	q := c.Query
	var (
		tenant string
		f      logquery.Filter
		until  time.Time                 // when the credential expires
		ticket *logstream.VerifiedTicket // spent last, once nothing else can refuse the request
	)
	idField, lastID, err := resumeID(r, q)
	if err != nil {
		return err
	}
	var after *logstore.Cursor
	if tickets, ok := q["ticket"]; ok {
		v, resume, err := openTicket(r, q, b, tickets, idField, lastID)
		if err != nil {
			return err
		}
		tenant, f, until, ticket, after = v.Tenant, v.Filter, v.Until, &v, resume
	} else {
		p, t, err := s.authorize(w, r, PermRead)
		if err != nil {
			return err
		}
		tenant, until = t, p.Expires
		if f, err = logquery.ParseValues(q); err != nil {
			return err
		}
		if lastID != "" {
			c, err := b.Sealer().Open(tenant, lastID)
			if err != nil {
				return badResumeID(idField)
			}
			after = &c
		}
	}
	if rec := recorderOf(w); rec != nil {
		rec.tenant = tenant
	}
	if err := s.limitRequest(tenant); err != nil {
		return err
	}
	sub, err := b.Subscribe(r.Context(), tenant, f, after)
	var end *logstream.EndError
	if errors.As(err, &end) {
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "loghttp: stream refused",
			slog.String("requestId", RequestID(r.Context())), slog.String("reason", string(end.Reason)))
		s.metrics.StreamEnded(end.Reason)
		_ = logstream.WriteEnd(w, end, b.SSEOptions())
		return nil
	}
	if err != nil {
		return err
	}
	if ticket != nil {
		sub.BindTicket(*ticket)
		// After Subscribe, which holds the stream's place within the
		// limits: a refusal there leaves the ticket usable, and of two
		// requests with one ticket only the one that spends it streams.
		// A reconnection of the stream the ticket opened spent it then.
		if !ticket.Reconnect {
			if err := b.SpendTicket(r.Context(), *ticket); err != nil {
				_ = sub.Close()
				return ticketError(err)
			}
		}
	}
	if !until.IsZero() {
		sub.EndAt(until, logstream.EndCredentialExpired)
	}
	if err := logstream.ServeSSE(r.Context(), w, sub, nil); err != nil && r.Context().Err() == nil {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "loghttp: stream ended",
			slog.String("requestId", RequestID(r.Context())), slog.Any("err", err))
	}
	return nil
}

// openTicket authenticates a stream request by its ticket, which fixes
// the tenant and the filter, and reads the event id it resumes from (see
// Broadcaster.OpenTicket). It does not spend the ticket.
func openTicket(r *http.Request, q url.Values, b *logstream.Broadcaster, tickets []string, idField, lastID string) (logstream.VerifiedTicket, *logstore.Cursor, error) {
	var zero logstream.VerifiedTicket
	if len(tickets) != 1 || tickets[0] == "" {
		return zero, nil, logs.Invalid("ticket", "must be given once")
	}
	if r.Header.Get("Authorization") != "" {
		return zero, nil, logs.Invalid("ticket", "give either a ticket or an Authorization header, not both")
	}
	for _, name := range logquery.Fields {
		if _, ok := q[name]; ok {
			return zero, nil, logs.Invalid(name, "is fixed by the ticket; ask for a ticket with this filter")
		}
	}
	v, after, err := b.OpenTicket(tickets[0], lastID)
	if logs.Code(err) == logs.CodeInvalid {
		return zero, nil, badResumeID(idField)
	}
	if err != nil {
		return zero, nil, ticketError(err)
	}
	if vals := r.Header.Values(TenantHeader); len(vals) > 0 && (len(vals) > 1 || vals[0] != v.Tenant) {
		return zero, nil, logs.NewError(logs.ErrPermissionDenied, TenantHeader, "is not the tenant of the ticket")
	}
	return v, after, nil
}

// ticketError is the answer to a ticket refused by VerifyTicket or
// SpendTicket.
func ticketError(err error) error {
	if logs.Code(err) == logs.CodeUnauthenticated {
		return &logs.Error{Kind: logs.ErrUnauthenticated, Field: "ticket",
			Message: "the stream ticket is invalid, expired or used; ask for a new one with POST /api/v1/logs/stream/tickets", Err: err}
	}
	return err
}

// resumeID reads the event id to resume after and the field it came in:
// the Last-Event-ID header (what a reconnecting EventSource sends), else
// the lastEventId parameter (for clients that cannot set headers). The
// header wins, because a browser reconnects to the same URL, whose
// lastEventId is older. It returns "" when there is none.
func resumeID(r *http.Request, q url.Values) (field, id string, err error) {
	if vals := r.Header.Values("Last-Event-ID"); len(vals) > 0 {
		if len(vals) > 1 {
			return "", "", logs.Invalid("Last-Event-ID", "header is given more than once")
		}
		field, id = "Last-Event-ID", vals[0]
	} else if vals, ok := q["lastEventId"]; ok {
		if len(vals) > 1 {
			return "", "", logs.Invalid("lastEventId", "is given more than once")
		}
		field, id = "lastEventId", vals[0]
	}
	return field, strings.TrimSpace(id), nil
}

func badResumeID(field string) error {
	return logs.Invalid(field, "is not an event id of this tenant's stream; reconnect without it to start from now")
}

// ticketResponse is the data of a 201 to POST /api/v1/logs/stream/tickets.
type ticketResponse struct {
	Ticket      string `json:"ticket"`
	ExpiresAt   string `json:"expiresAt"`
	StreamURL   string `json:"streamUrl"`
	LastEventID string `json:"lastEventId"` // where the stream is now: start from it to miss nothing
}

// createStreamTicket serves POST /api/v1/logs/stream/tickets: a short-lived,
// single-use ticket for one stream of the caller's tenant, with the filter
// of the JSON body (level, source, search, startDate, endDate; an empty
// body for none), and the event id of the stream's current position, for
// a client that must not miss what comes before it connects.
func (s *Server) createStreamTicket(w http.ResponseWriter, r *http.Request, c *call) error {
	b := s.opts.Stream
	if b == nil {
		return logs.NewError(logs.ErrNotFound, "", "the live stream is not enabled on this server")
	}
	if _, err := bodyType(r.Header, false); err != nil {
		return err
	}
	body, err := s.readBody(w, r, maxTicketBody)
	if err != nil {
		return err
	}
	vals, err := parseStringObject(body, logquery.Fields, true, `{"level":"error","source":"auth"}`)
	if err != nil {
		return err
	}
	f, err := logquery.Raw(vals).Filter()
	if err != nil {
		return err
	}
	head, err := b.HeadID(r.Context(), c.Tenant)
	if err != nil {
		return err
	}
	tk, err := b.IssueTicket(r.Context(), logstream.Grant{Tenant: c.Tenant, Filter: f, Until: c.Principal.Expires})
	if err != nil {
		return err
	}
	writeData(w, http.StatusCreated, ticketResponse{
		Ticket:      tk.Value,
		ExpiresAt:   logs.FormatTime(tk.ExpiresAt),
		StreamURL:   "/api/v1/logs/stream?ticket=" + url.QueryEscape(tk.Value),
		LastEventID: head,
	})
	return nil
}
