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

// sealVersion is the first byte of every sealed cursor.
const sealVersion = 1

// sealedLen is the length of a sealed cursor in bytes before base64:
// version, one AES block (epoch and seq), a 96-bit tag.
const sealedLen = 1 + aes.BlockSize + 12

// SealedLen is the length of every event id [Sealer.Seal] writes.
var SealedLen = base64.RawURLEncoding.EncodedLen(sealedLen)

// Sealer turns store cursors into the opaque, tenant-bound event ids a
// client sees, and back. An id is one AES block holding the cursor
// (so it does not reveal transaction ids or the global sequence) and an
// HMAC-SHA256 tag over the tenant and that block, base64url without
// padding. [Sealer.Open] refuses an id that was changed, that was sealed
// for another tenant, or with another key.
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

func (s *Sealer) tag(tenant string, block []byte) []byte {
	m := hmac.New(sha256.New, s.macKey)
	var n [binary.MaxVarintLen64]byte
	m.Write(n[:binary.PutUvarint(n[:], uint64(len(tenant)))])
	m.Write([]byte(tenant))
	m.Write(block)
	return m.Sum(nil)[:sealedLen-1-aes.BlockSize]
}

// Seal returns the event id of cursor c for tenant.
func (s *Sealer) Seal(tenant string, c logstore.Cursor) string {
	var plain [aes.BlockSize]byte
	binary.BigEndian.PutUint64(plain[:8], c.Epoch)
	binary.BigEndian.PutUint64(plain[8:], uint64(c.Seq))
	var out [sealedLen]byte
	out[0] = sealVersion
	s.block.Encrypt(out[1:1+aes.BlockSize], plain[:])
	copy(out[1+aes.BlockSize:], s.tag(tenant, out[:1+aes.BlockSize]))
	return base64.RawURLEncoding.EncodeToString(out[:])
}

// errBadID is what Open says about any id it refuses; it does not tell a
// tampered id from another tenant's.
var errBadID = errors.New("is not an event id of this stream")

// Open returns the cursor sealed in id for tenant. Any id that Seal did not
// write for this tenant with this key is an error wrapping logs.ErrInvalid.
func (s *Sealer) Open(tenant, id string) (logstore.Cursor, error) {
	bad := func() (logstore.Cursor, error) {
		return logstore.Cursor{}, fmt.Errorf("logstream: %w: %w", errBadID, logs.ErrInvalid)
	}
	if len(id) != SealedLen {
		return bad()
	}
	var raw [sealedLen]byte
	n, err := base64.RawURLEncoding.Decode(raw[:], []byte(id))
	if err != nil || n != sealedLen || raw[0] != sealVersion {
		return bad()
	}
	if !hmac.Equal(raw[1+aes.BlockSize:], s.tag(tenant, raw[:1+aes.BlockSize])) {
		return bad()
	}
	var plain [aes.BlockSize]byte
	s.block.Decrypt(plain[:], raw[1:1+aes.BlockSize])
	c := logstore.Cursor{Epoch: binary.BigEndian.Uint64(plain[:8]), Seq: int64(binary.BigEndian.Uint64(plain[8:]))}
	if c.Seq < 0 || c.Epoch > 1<<62 {
		return bad()
	}
	return c, nil
}
