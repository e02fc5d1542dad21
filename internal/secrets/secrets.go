// Package secrets derives the service's keys from the secrets an operator
// configures, and keeps a generated secret in a file.
//
// Every key of the service (the stream's sealing keys, the ticket key, the
// download-link key, the stream key logsd derives from its JWT secret) is
// Derive(secret, purpose): HKDF-SHA256 (RFC 5869) with a purpose string
// that names the key's one use, so that no two uses share a key and one
// secret can serve them all.
package secrets

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Derive returns a key of n bytes (at most 255*32) for purpose, derived
// from secret with HKDF-SHA256. It panics when n is out of range: n is a
// constant of the caller.
func Derive(secret []byte, purpose string, n int) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, "ithbat/logs "+purpose, n)
	if err != nil {
		panic(fmt.Sprintf("secrets: derive %q: %v", purpose, err))
	}
	return k
}

// LoadOrCreate returns the secret in the file at path: its text, trimmed,
// at least minLen bytes. When the file does not exist it is created with
// 32 random bytes in hex (mode 0600, its folder 0700 when missing), and
// created is true. Concurrent callers, also in other processes, agree on
// one secret: the file appears complete or not at all. A file readable by
// others than its owner is refused.
func LoadOrCreate(path string, minLen int) (secret []byte, created bool, err error) {
	if s, err := read(path, minLen); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, false, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("secret folder: %w", err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, false, fmt.Errorf("generate secret: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, false, fmt.Errorf("write secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(b[:]) + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("write secret: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, false, fmt.Errorf("write secret: %w", err)
	} else if err != nil { // another process was first: use its secret
		s, err := read(path, minLen)
		return s, false, err
	}
	s, err := read(path, minLen)
	return s, err == nil, err
}

func read(path string, minLen int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret %s is readable by others (mode %v); run: chmod 600 '%s'", path, fi.Mode().Perm(), strings.ReplaceAll(path, "'", `'\''`))
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if len(s) < minLen {
		return nil, fmt.Errorf("secret %s has %d bytes; at least %d are required", path, len(s), minLen)
	}
	return []byte(s), nil
}

// Random returns n random bytes (a key of this process only).
func Random(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("secrets: random: %v", err)) // crypto/rand does not fail on supported systems
	}
	return b
}
