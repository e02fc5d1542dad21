package logquery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/secrets"
)

// Position is a place in a list, newest first: the entry (CreatedAt, ID)
// that a page starts after. The zero Position is the start of the list.
type Position struct {
	CreatedAt time.Time
	ID        string
}

// IsZero reports whether p is the start of the list.
func (p Position) IsZero() bool { return p.ID == "" && p.CreatedAt.IsZero() }

// Cursors seals list positions into the opaque cursors of the list
// (nextCursor, cursor=): a cursor is bound to its tenant, to the filter's
// conditions and limit, and to the key, so that one given with another
// filter or tenant, or altered, is refused. It carries the number of the
// page it leads to. Every replica of one API must use the same key.
type Cursors struct{ key []byte }

// NewCursors derives the sealing key from key (at least 16 bytes).
func NewCursors(key []byte) (*Cursors, error) {
	if len(key) < 16 {
		return nil, fmt.Errorf("logquery: the cursor key has %d bytes, at least 16 are needed: %w", len(key), logs.ErrInvalid)
	}
	return &Cursors{key: secrets.Derive(key, "logquery list cursor", 32)}, nil
}

const (
	cursorVersion = 1
	cursorTagLen  = 16
)

// binding is what a cursor is bound to: the tenant, the filter's
// conditions and its limit.
func (c *Cursors) tag(tenant string, f Filter, body []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	var n [binary.MaxVarintLen64]byte
	write := func(s string) {
		m.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		m.Write([]byte(s))
	}
	write(tenant)
	for _, fd := range filterFields {
		write(fd.format(f))
	}
	write(fmt.Sprint(f.WithDefaults().Limit))
	m.Write(body)
	return m.Sum(nil)[:cursorTagLen]
}

// Seal returns the cursor of the page number page of f for tenant, which
// starts after p.
func (c *Cursors) Seal(tenant string, f Filter, p Position, page int) string {
	id, _ := uuid.Parse(p.ID)
	body := make([]byte, 0, 1+3*binary.MaxVarintLen64+16)
	body = append(body, cursorVersion)
	body = binary.AppendUvarint(body, uint64(page))
	body = binary.AppendVarint(body, p.CreatedAt.UnixMicro())
	body = append(body, id[:]...)
	return base64.RawURLEncoding.EncodeToString(append(body, c.tag(tenant, f, body)...))
}

// Open returns the position and page number sealed in cursor for tenant
// and f. A cursor that Seal did not write for this tenant, these
// conditions and this limit, with this key, is a *logs.Error naming
// "cursor".
func (c *Cursors) Open(tenant string, f Filter, cursor string) (Position, int, error) {
	bad := func() (Position, int, error) {
		return Position{}, 0, logs.Invalid("cursor", "is not a cursor of this list; it belongs to the filter and limit it was given with")
	}
	if len(cursor) > 128 {
		return bad()
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(raw) < 1+cursorTagLen || raw[0] != cursorVersion {
		return bad()
	}
	body, tag := raw[:len(raw)-cursorTagLen], raw[len(raw)-cursorTagLen:]
	if !hmac.Equal(tag, c.tag(tenant, f, body)) {
		return bad()
	}
	rest := body[1:]
	page, n := binary.Uvarint(rest)
	if n <= 0 || page < 1 || page > MaxCursorPage {
		return bad()
	}
	rest = rest[n:]
	us, n := binary.Varint(rest)
	if n <= 0 || len(rest[n:]) != 16 {
		return bad()
	}
	id, err := uuid.FromBytes(rest[n:])
	if err != nil {
		return bad()
	}
	return Position{CreatedAt: time.UnixMicro(us).UTC(), ID: id.String()}, int(page), nil
}
