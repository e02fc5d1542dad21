package logstream

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/secrets"
	"github.com/ithbat/logs/logquery"
	"github.com/ithbat/logs/logstore"
)

// DefaultTicketTTL is how long a stream ticket is valid by default.
const DefaultTicketTTL = 60 * time.Second

// maxTicketLen bounds the text of a ticket accepted by Redeem.
const maxTicketLen = 4096

// Ticket is a short-lived, single-use credential for one stream, bound to a
// tenant and a filter. Browsers need it: EventSource cannot send an
// Authorization header, and a long-lived bearer token must never appear in
// a URL (where proxies and browser history keep it).
type Ticket struct {
	Value     string    `json:"ticket"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Grant is what a ticket lets its bearer do: stream the entries of Tenant
// that match Filter, until Until (zero: no limit but the stream's own).
type Grant struct {
	Tenant string
	Filter logquery.Filter
	Until  time.Time
}

// ticketBody is the sealed content of a ticket.
type ticketBody struct {
	Tenant  string       `json:"t"`
	Filter  logquery.Raw `json:"f"`
	Expires int64        `json:"e"`           // unix milliseconds
	Until   int64        `json:"u,omitempty"` // unix milliseconds
}

type tickets struct {
	aead   cipher.AEAD
	ledger logstore.TicketLedger
	ttl    time.Duration
	now    func() time.Time
}

func newTickets(key []byte, ledger logstore.TicketLedger, ttl time.Duration) (*tickets, error) {
	block, err := aes.NewCipher(secrets.Derive(key, "logstream ticket", 32))
	if err != nil {
		return nil, fmt.Errorf("logstream: %w: %w", logs.ErrInternal, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("logstream: %w: %w", logs.ErrInternal, err)
	}
	return &tickets{aead: aead, ledger: ledger, ttl: ttl, now: time.Now}, nil
}

var ticketAD = []byte("logstream ticket v1")

func (t *tickets) issue(g Grant) (Ticket, error) {
	if err := logs.ValidateTenant("tenantId", g.Tenant); err != nil {
		return Ticket{}, err
	}
	if err := g.Filter.Validate(); err != nil {
		return Ticket{}, err
	}
	exp := t.now().Add(t.ttl).Truncate(time.Millisecond)
	body := ticketBody{Tenant: g.Tenant, Filter: g.Filter.Raw(), Expires: exp.UnixMilli()}
	if !g.Until.IsZero() {
		body.Until = g.Until.UnixMilli()
	}
	plain, err := json.Marshal(body)
	if err != nil {
		return Ticket{}, fmt.Errorf("logstream: ticket: %w: %w", logs.ErrInternal, err)
	}
	nonce := make([]byte, t.aead.NonceSize(), t.aead.NonceSize()+len(plain)+t.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return Ticket{}, fmt.Errorf("logstream: ticket: %w: %w", logs.ErrInternal, err)
	}
	sealed := t.aead.Seal(nonce, nonce, plain, ticketAD)
	return Ticket{Value: base64.RawURLEncoding.EncodeToString(sealed), ExpiresAt: exp.UTC()}, nil
}

// errBadTicket is the one answer to any ticket that is not valid; the
// client is not told which check failed.
var errBadTicket = fmt.Errorf("logstream: the stream ticket is invalid, expired or used: %w", logs.ErrUnauthenticated)

// VerifiedTicket is a ticket whose seal, expiry and filter were checked
// by [Broadcaster.VerifyTicket], and that is not spent yet:
// [Broadcaster.SpendTicket] spends it. Its Grant is what it grants.
type VerifiedTicket struct {
	Grant
	id      string    // the nonce, base64url: the ledger's key
	expires time.Time // when the ticket expires
	// Reconnect is set by [Broadcaster.OpenTicket] for the reconnection of
	// the stream the ticket opened: it is spent already.
	Reconnect bool
}

// ID is the ticket's id, which the event ids of its stream carry
// ([Sealer.SealTicket]).
func (v VerifiedTicket) ID() string { return v.id }

// MaxReconnect bounds the reconnections of a ticket's stream when the
// credential the ticket was issued on has no expiry: they are accepted
// until the ticket's expiry and this long after.
const MaxReconnect = 12 * time.Hour

// verify checks a ticket without spending it.
func (t *tickets) verify(value string) (VerifiedTicket, error) {
	v, err := t.open(value)
	if err != nil {
		return VerifiedTicket{}, err
	}
	if !t.valid(v) {
		return VerifiedTicket{}, errBadTicket
	}
	return v, nil
}

// open checks a ticket's seal and reads it; it does not look at its
// expiry.
func (t *tickets) open(value string) (VerifiedTicket, error) {
	if len(value) > maxTicketLen {
		return VerifiedTicket{}, errBadTicket
	}
	raw, err := base64.RawURLEncoding.DecodeString(value)
	ns := t.aead.NonceSize()
	if err != nil || len(raw) < ns+t.aead.Overhead() {
		return VerifiedTicket{}, errBadTicket
	}
	plain, err := t.aead.Open(nil, raw[:ns], raw[ns:], ticketAD)
	if err != nil {
		return VerifiedTicket{}, errBadTicket
	}
	var body ticketBody
	if err := json.Unmarshal(plain, &body); err != nil {
		return VerifiedTicket{}, errBadTicket
	}
	v := VerifiedTicket{id: base64.RawURLEncoding.EncodeToString(raw[:ns]), expires: time.UnixMilli(body.Expires)}
	if body.Until != 0 {
		v.Until = time.UnixMilli(body.Until).UTC()
	}
	if v.Filter, err = body.Filter.Filter(); err != nil {
		return VerifiedTicket{}, errBadTicket
	}
	v.Tenant = body.Tenant
	return v, nil
}

// valid reports whether v is not expired, nor the credential it was
// issued on.
func (t *tickets) valid(v VerifiedTicket) bool {
	now := t.now()
	return v.id != "" && now.Before(v.expires) && (v.Until.IsZero() || now.Before(v.Until))
}

// reconnectable reports whether the stream v opened may reconnect now:
// until the credential v was issued on expires, or when it has none, until
// MaxReconnect after v's own expiry.
func (t *tickets) reconnectable(v VerifiedTicket) bool {
	until := v.Until
	if until.IsZero() {
		until = v.expires.Add(MaxReconnect)
	}
	return v.id != "" && t.now().Before(until)
}

// spend records v as spent in the ledger; it refuses v when it was spent
// before or expired since it was verified.
func (t *tickets) spend(ctx context.Context, v VerifiedTicket) error {
	if !t.valid(v) {
		return errBadTicket
	}
	if err := t.ledger.SpendTicket(ctx, v.id, v.expires); err != nil {
		if errors.Is(err, logstore.ErrSpent) {
			return errBadTicket
		}
		return err
	}
	return nil
}

// MemoryLedger is a [logstore.TicketLedger] in the memory of one process.
// With several replicas a ticket could be spent once on each; give them the
// store's ledger (bunstore.Store is one) there.
type MemoryLedger struct {
	mu    sync.Mutex
	spent map[string]time.Time
	now   func() time.Time
}

var _ logstore.TicketLedger = (*MemoryLedger)(nil)

// NewMemoryLedger returns an empty MemoryLedger.
func NewMemoryLedger() *MemoryLedger {
	return &MemoryLedger{spent: map[string]time.Time{}, now: time.Now}
}

// SpendTicket implements [logstore.TicketLedger]. Expired ids are
// forgotten as new ones come.
func (l *MemoryLedger) SpendTicket(_ context.Context, id string, expires time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.spent[id]; ok {
		return logstore.ErrSpent
	}
	if len(l.spent) >= 1024 && len(l.spent)%256 == 0 {
		now := l.now()
		for k, exp := range l.spent {
			if exp.Before(now) {
				delete(l.spent, k)
			}
		}
	}
	l.spent[id] = expires
	return nil
}
