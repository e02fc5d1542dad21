package logtree

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/ithbat/logs"
)

// DefaultKeyName is the name of a generated signing key. It is the first
// part of every checkpoint's origin line (see [Origin]).
const DefaultKeyName = "ithbat-logs"

// KeyFile is the name of the generated signing key in logsd's data folder.
const KeyFile = "signing-key"

// Key is the Ed25519 key that signs checkpoints. A Key of
// ParseVerifierKey has no Signer: it verifies only.
type Key struct {
	Signer note.Signer
	// VerifierKey is the public key as a note verifier key
	// ("name+hash+base64"): what a user keeps to check checkpoints.
	VerifierKey string
	// Public is the raw Ed25519 public key.
	Public ed25519.PublicKey
}

// Name is the key's name.
func (k *Key) Name() string {
	name, _, _ := strings.Cut(k.VerifierKey, "+")
	return name
}

// ParseVerifierKey reads a note verifier key of algorithm Ed25519 (as GET
// /api/v1/logs/checkpoints/key and logsd print it): a Key that verifies,
// with no Signer.
func ParseVerifierKey(vkey string) (*Key, error) {
	vkey = strings.TrimSpace(vkey)
	if _, err := note.NewVerifier(vkey); err != nil {
		return nil, fmt.Errorf("logtree: verifier key: %w: %w (want name+hash+base64)", logs.ErrInvalid, err)
	}
	parts := strings.SplitN(vkey, "+", 3)
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize {
		return nil, fmt.Errorf("logtree: verifier key: %w: not an Ed25519 key", logs.ErrInvalid)
	}
	return &Key{VerifierKey: vkey, Public: ed25519.PublicKey(raw[1:])}, nil
}

// GenerateKey returns a new signing key named name, encoded as a note
// signer key ("PRIVATE+KEY+name+hash+base64"), the form ParseKey and
// LOGSD_SIGNING_KEY take.
func GenerateKey(name string) (string, error) {
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", fmt.Errorf("logtree: generate key: %w: %w", logs.ErrInvalid, err)
	}
	return skey, nil
}

// ParseKey reads a note signer key of algorithm Ed25519.
func ParseKey(skey string) (*Key, error) {
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("logtree: signing key: %w: %w (want PRIVATE+KEY+name+hash+base64, as logsd generates)", logs.ErrInvalid, err)
	}
	parts := strings.SplitN(skey, "+", 5) // PRIVATE, KEY, name, hash, key (whose base64 may hold +)
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return nil, fmt.Errorf("logtree: signing key: %w: not an Ed25519 key", logs.ErrInvalid)
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, fmt.Errorf("logtree: signing key: %w: %w", logs.ErrInvalid, err)
	}
	return &Key{Signer: s, VerifierKey: vkey, Public: pub}, nil
}

// LoadKey returns the key configured (a note signer key), else the one in
// the file at path, generated there (mode 0600) when it does not exist;
// created tells whether it was. A key file that others than its owner may
// read is refused.
func LoadKey(configured, path string) (k *Key, created bool, err error) {
	if configured != "" {
		k, err := ParseKey(configured)
		return k, false, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		skey, err := GenerateKey(DefaultKeyName)
		if err != nil {
			return nil, false, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, fmt.Errorf("logtree: key folder: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return LoadKey("", path) // another process was first
		}
		if err != nil {
			return nil, false, fmt.Errorf("logtree: write key: %w", err)
		}
		_, err = f.WriteString(skey + "\n")
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(path)
			return nil, false, fmt.Errorf("logtree: write key: %w", err)
		}
		k, err := ParseKey(skey)
		return k, err == nil, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("logtree: read key: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("logtree: key file %s may be read by others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	k, err = ParseKey(string(b))
	return k, false, err
}
