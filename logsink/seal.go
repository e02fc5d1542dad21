package logsink

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// sealedPrefix starts a secret sealed by SecretSealer.
const sealedPrefix = "sealed.v1."

// SecretSealer returns the Options.SealSecret and OpenSecret that keep
// webhook secrets encrypted at rest: AES-256-GCM with a key derived from
// key (SHA-256), the same on every replica. Open refuses a secret that
// another key sealed, or none.
func SecretSealer(key []byte) (seal, open func(string) (string, error)) {
	k := sha256.Sum256(append([]byte("logsink secrets|"), key...))
	block, _ := aes.NewCipher(k[:]) // a 32-byte key never fails
	aead, _ := cipher.NewGCM(block)
	seal = func(s string) (string, error) {
		nonce := make([]byte, aead.NonceSize())
		_, _ = rand.Read(nonce)
		return sealedPrefix + base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(s), nil)), nil
	}
	open = func(s string) (string, error) {
		b64, ok := strings.CutPrefix(s, sealedPrefix)
		if !ok {
			return "", errors.New("logsink: the secret is not sealed")
		}
		b, err := base64.RawURLEncoding.DecodeString(b64)
		if err != nil || len(b) < aead.NonceSize() {
			return "", errors.New("logsink: the sealed secret is malformed")
		}
		out, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], nil)
		if err != nil {
			return "", errors.New("logsink: the secret was sealed with another key")
		}
		return string(out), nil
	}
	return seal, open
}
