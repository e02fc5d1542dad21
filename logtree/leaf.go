package logtree

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/ithbat/logs"
)

// Canonical returns the canonical encoding of e (see the package doc, "The
// leaf"): the entry's JSON object as the API
// writes it ([logs.AppendJSON]: members id, tenantId, level, source,
// message, metadata, createdAt in that order, no spaces, no HTML escaping,
// createdAt as [logs.TimeFormat]) with the metadata written anew: object
// keys sorted by their bytes at every depth, numbers as their digits
// (json.Number) or as encoding/json writes a float64, strings as
// encoding/json writes them.
func Canonical(e logs.Entry) ([]byte, error) {
	e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Microsecond)
	if e.Metadata == nil {
		e.Metadata = map[string]any{}
	}
	b, err := logs.AppendJSON(make([]byte, 0, 256), &e, nil)
	if err != nil {
		return nil, fmt.Errorf("logtree: leaf of %s: %w", e.ID, err)
	}
	return b, nil
}

// Digest returns the SHA-256 of Canonical(e).
func Digest(e logs.Entry) ([32]byte, error) {
	b, err := Canonical(e)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// LeafData returns the data of e's leaf: its createdAt in microseconds
// since the Unix epoch as 8 bytes (big-endian, two's complement), then
// Digest(e). The time stands apart so that a leaf's time is checked
// against the signed tree without the entry (one purged by retention).
func LeafData(e logs.Entry) ([]byte, error) {
	d, err := Digest(e)
	if err != nil {
		return nil, err
	}
	return leafData(e.CreatedAt, d), nil
}

func leafData(at time.Time, digest [32]byte) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 40), uint64(at.UTC().Truncate(time.Microsecond).UnixMicro()))
	return append(b, digest[:]...)
}

// LeafHash returns the RFC 9162 leaf hash of e: SHA-256 of a zero byte and
// LeafData(e) (tlog.RecordHash).
func LeafHash(e logs.Entry) (tlog.Hash, error) {
	b, err := LeafData(e)
	if err != nil {
		return tlog.Hash{}, err
	}
	return tlog.RecordHash(b), nil
}

// ParseEntry reads an entry as the API writes it (one JSON object) with
// its metadata's numbers kept as their digits, so that LeafHash of the
// result is the hash of the entry the server stored. Unknown members are
// an error: the leaf covers the seven fields only.
func ParseEntry(raw []byte) (logs.Entry, error) {
	var v struct {
		ID        *string         `json:"id"`
		TenantID  *string         `json:"tenantId"`
		Level     *string         `json:"level"`
		Source    *string         `json:"source"`
		Message   *string         `json:"message"`
		Metadata  json.RawMessage `json:"metadata"`
		CreatedAt *string         `json:"createdAt"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return logs.Entry{}, fmt.Errorf("logtree: entry: %w: %w", logs.ErrInvalid, err)
	}
	if v.ID == nil || v.TenantID == nil || v.Level == nil || v.Source == nil || v.Message == nil || v.CreatedAt == nil {
		return logs.Entry{}, fmt.Errorf("logtree: entry: %w: id, tenantId, level, source, message and createdAt are required", logs.ErrInvalid)
	}
	at, err := time.Parse(time.RFC3339Nano, *v.CreatedAt)
	if err != nil {
		return logs.Entry{}, fmt.Errorf("logtree: entry: createdAt: %w: %w", logs.ErrInvalid, err)
	}
	e := logs.Entry{ID: *v.ID, TenantID: *v.TenantID, Level: logs.Level(*v.Level), Source: *v.Source, Message: *v.Message, CreatedAt: at.UTC()}
	if len(v.Metadata) > 0 && string(v.Metadata) != "null" {
		d := json.NewDecoder(bytes.NewReader(v.Metadata))
		d.UseNumber()
		if err := d.Decode(&e.Metadata); err != nil {
			return logs.Entry{}, fmt.Errorf("logtree: entry: metadata: %w: %w", logs.ErrInvalid, err)
		}
	}
	return e, nil
}

// frontier is the right edge of a tree being built leaf by leaf: the
// hashes of its complete subtrees, the largest first (one per set bit of
// the tree's size). Adding a leaf yields the hashes tlog stores at it.
type frontier struct {
	size  int64
	stack []tlog.Hash
}

// frontierIndexes are the stored-hash indexes of the complete subtrees of
// a tree of size n, the largest first.
func frontierIndexes(n int64) []int64 {
	var out []int64
	var start int64
	for level := 62; level >= 0; level-- {
		if n&(1<<level) != 0 {
			out = append(out, tlog.StoredHashIndex(level, start>>level))
			start += 1 << level
		}
	}
	return out
}

// add appends the leaf hash h and returns the hashes stored at the new
// leaf: h, then the hash of each subtree it completes, level by level (as
// tlog.StoredHashesForRecordHash does).
func (f *frontier) add(h tlog.Hash) []tlog.Hash {
	out := []tlog.Hash{h}
	cur := h
	for n := f.size; n&1 == 1; n >>= 1 {
		top := f.stack[len(f.stack)-1]
		f.stack = f.stack[:len(f.stack)-1]
		cur = tlog.NodeHash(top, cur)
		out = append(out, cur)
	}
	f.stack = append(f.stack, cur)
	f.size++
	return out
}

// root is the tree hash (RFC 9162) of the leaves added so far.
func (f *frontier) root() tlog.Hash {
	if len(f.stack) == 0 {
		return tlog.Hash{}
	}
	r := f.stack[len(f.stack)-1]
	for i := len(f.stack) - 2; i >= 0; i-- {
		r = tlog.NodeHash(f.stack[i], r)
	}
	return r
}
