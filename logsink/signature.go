package logsink

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every webhook secret (Standard Webhooks).
const SecretPrefix = "whsec_"

// secretBytes is the length of a new secret's key: 32 bytes, the size of
// the HMAC-SHA256 block's output.
const secretBytes = 32

// NewSecret returns a new webhook signing secret: "whsec_" and the base64
// of 32 random bytes.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey returns the HMAC key of a secret: the base64 after "whsec_".
func secretKey(secret string) ([]byte, error) {
	s, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errors.New("logsink: a webhook secret starts with " + SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) == 0 {
		return nil, errors.New("logsink: a webhook secret is " + SecretPrefix + " and base64")
	}
	return key, nil
}

// Sign returns the signature of one delivery as the Standard Webhooks
// scheme defines it: "v1," and the base64 of HMAC-SHA256, keyed with the
// secret's key, over "<msgID>.<unix seconds>.<body>".
func Sign(secret, msgID string, at time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, msgID, strconv.FormatInt(at.Unix(), 10), body)), nil
}

func mac(key []byte, msgID, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msgID))
	h.Write([]byte{'.'})
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a delivery as a receiver does: one of the space-separated
// signatures of header (webhook-signature) is a v1 signature of msgID,
// timestamp (webhook-timestamp, unix seconds) and body with secret, and
// the timestamp is within tolerance of now. It is what a Go receiver of a
// log stream needs (and what the tests use).
func Verify(secret, msgID, timestamp, header string, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("logsink: webhook-timestamp is not unix seconds")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return errors.New("logsink: webhook-timestamp is too far from now")
	}
	want := mac(key, msgID, timestamp, body)
	for _, sig := range strings.Fields(header) {
		v, b64, ok := strings.Cut(sig, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("logsink: no valid signature")
}
