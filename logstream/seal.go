package logstream

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/internal/secrets"
	"github.com/ithbat/logs/logstore"
)

// MinKeyLen is the shortest key accepted by [NewSealer] and [Options].Key.
const MinKeyLen = 16

// The versions of a sealed cursor, its first byte: 1 for a stream opened
// with a token, 2 for a stream opened with a ticket (the id also names the
// ticket).
const (
	sealVersion       = 1
	sealTicketVersion = 2
)

// Lengths in bytes before base64: the version, one AES block (epoch and
// seq), for version 2 the ticket's id (its 12-byte nonce), a 96-bit tag.
const (
	tagLen          = 12
	ticketIDLen     = 12
	sealedLen       = 1 + aes.BlockSize + tagLen
	ticketSealedLen = 1 + aes.BlockSize + ticketIDLen + tagLen
)

// SealedLen is the length of every event id [Sealer.Seal] writes, and
// TicketSealedLen of every id [Sealer.SealTicket] writes.
var (
	SealedLen       = base64.RawURLEncoding.EncodedLen(sealedLen)
	TicketSealedLen = base64.RawURLEncoding.EncodedLen(ticketSealedLen)
)

// Sealer turns store cursors into the opaque, tenant-bound event ids a
// client sees, and back. An id is one AES block holding the cursor
// (so it does not reveal transaction ids or the global sequence) and an
// HMAC-SHA256 tag over the tenant and the rest of the id, base64url without
// padding. The ids of a stream opened with a ticket also carry the ticket's
// id, under the tag: they let the browser that holds the ticket reconnect
// ([Broadcaster.OpenTicket]). [Sealer.Open] refuses an id that was
// changed, that was sealed for another tenant, or with another key.
//
// Every logsd replica behind one load balancer must use the same key, or a
// client that reconnects to another replica is refused.
type Sealer struct {
	block  cipher.Block
	macKey []byte
}

// NewSealer derives the sealing keys from key, which must have at least
// [MinKeyLen] bytes of secret.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("logstream: the key has %d bytes, at least %d are needed: %w", len(key), MinKeyLen, logs.ErrInvalid)
	}
	block, err := aes.NewCipher(secrets.Derive(key, "logstream cursor encryption", 16))
	if err != nil {
		return nil, fmt.Errorf("logstream: %w: %w", logs.ErrInternal, err)
	}
	return &Sealer{block: block, macKey: secrets.Derive(key, "logstream cursor mac", 32)}, nil
}

func (s *Sealer) tag(tenant string, body []byte) []byte {
	m := hmac.New(sha256.New, s.macKey)
	var n [binary.MaxVarintLen64]byte
	m.Write(n[:binary.PutUvarint(n[:], uint64(len(tenant)))])
	m.Write([]byte(tenant))
	m.Write(body)
	return m.Sum(nil)[:tagLen]
}

// seal writes the id of c, with ticket (raw, ticketIDLen bytes) when not
// nil, into out and returns it as text.
func (s *Sealer) seal(tenant string, ticket []byte, c logstore.Cursor) string {
	var plain [aes.BlockSize]byte
	binary.BigEndian.PutUint64(plain[:8], c.Epoch)
	binary.BigEndian.PutUint64(plain[8:], uint64(c.Seq))
	var out [ticketSealedLen]byte
	n := sealedLen
	out[0] = sealVersion
	if ticket != nil {
		out[0], n = sealTicketVersion, ticketSealedLen
		copy(out[1+aes.BlockSize:], ticket)
	}
	s.block.Encrypt(out[1:1+aes.BlockSize], plain[:])
	copy(out[n-tagLen:n], s.tag(tenant, out[:n-tagLen]))
	return base64.RawURLEncoding.EncodeToString(out[:n])
}

// Seal returns the event id of cursor c for tenant.
func (s *Sealer) Seal(tenant string, c logstore.Cursor) string { return s.seal(tenant, nil, c) }

// SealTicket returns the event id of cursor c for tenant on the stream
// opened with the ticket whose id is ticketID ([VerifiedTicket.ID]). It
// is Seal's id when ticketID is not a ticket's id.
func (s *Sealer) SealTicket(tenant, ticketID string, c logstore.Cursor) string {
	raw, err := base64.RawURLEncoding.DecodeString(ticketID)
	if err != nil || len(raw) != ticketIDLen {
		return s.seal(tenant, nil, c)
	}
	return s.seal(tenant, raw, c)
}

// errBadID is what Open says about any id it refuses; it does not tell a
// tampered id from another tenant's.
var errBadID = errors.New("is not an event id of this stream")

// Open returns the cursor sealed in id for tenant. Any id that Seal or
// SealTicket did not write for this tenant with this key is an error
// wrapping logs.ErrInvalid.
func (s *Sealer) Open(tenant, id string) (logstore.Cursor, error) {
	c, _, err := s.OpenTicket(tenant, id)
	return c, err
}

// OpenTicket is Open that also returns the id of the ticket the id's
// stream was opened with ("" for a stream opened with a token).
func (s *Sealer) OpenTicket(tenant, id string) (logstore.Cursor, string, error) {
	bad := func() (logstore.Cursor, string, error) {
		return logstore.Cursor{}, "", fmt.Errorf("logstream: %w: %w", errBadID, logs.ErrInvalid)
	}
	var n int
	switch len(id) {
	case SealedLen:
		n = sealedLen
	case TicketSealedLen:
		n = ticketSealedLen
	default:
		return bad()
	}
	var raw [ticketSealedLen]byte
	got, err := base64.RawURLEncoding.Decode(raw[:], []byte(id))
	if err != nil || got != n || (n == sealedLen) != (raw[0] == sealVersion) || (n == ticketSealedLen) != (raw[0] == sealTicketVersion) {
		return bad()
	}
	if !hmac.Equal(raw[n-tagLen:n], s.tag(tenant, raw[:n-tagLen])) {
		return bad()
	}
	var plain [aes.BlockSize]byte
	s.block.Decrypt(plain[:], raw[1:1+aes.BlockSize])
	c := logstore.Cursor{Epoch: binary.BigEndian.Uint64(plain[:8]), Seq: int64(binary.BigEndian.Uint64(plain[8:]))}
	if c.Seq < 0 || c.Epoch > 1<<62 {
		return bad()
	}
	ticket := ""
	if n == ticketSealedLen {
		ticket = base64.RawURLEncoding.EncodeToString(raw[1+aes.BlockSize : 1+aes.BlockSize+ticketIDLen])
	}
	return c, ticket, nil
}
