package logsink_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/logsink"
)

// TestSignatureVector: the test vector published with the Standard
// Webhooks specification.
func TestSignatureVector(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		body   = `{"test": 2432232314}`
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	at := time.Unix(1614265330, 0)
	got, err := logsink.Sign(secret, id, at, []byte(body))
	require.NoError(t, err)
	assert.Equal(t, want, got)
	require.NoError(t, logsink.Verify(secret, id, "1614265330", "v1,bm9wZQ== "+want, []byte(body), at, 5*time.Minute),
		"one of several signatures")
	assert.Error(t, logsink.Verify(secret, id, "1614265330", want, []byte(body+" "), at, 5*time.Minute), "another body")
	assert.Error(t, logsink.Verify(secret, id, "1614265330", want, []byte(body), at.Add(10*time.Minute), 5*time.Minute), "too old")
	assert.Error(t, logsink.Verify(logsink.NewSecret(), id, "1614265330", want, []byte(body), at, 5*time.Minute), "another secret")
	_, err = logsink.Sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id, at, nil)
	assert.Error(t, err, "a secret without its prefix")

	s := logsink.NewSecret()
	assert.True(t, strings.HasPrefix(s, "whsec_"))
	assert.NotEqual(t, s, logsink.NewSecret())
}

func TestSecretSealer(t *testing.T) {
	seal, open := logsink.SecretSealer([]byte("a key of sixteen+"))
	s, err := seal("whsec_abc")
	require.NoError(t, err)
	assert.NotContains(t, s, "abc")
	got, err := open(s)
	require.NoError(t, err)
	assert.Equal(t, "whsec_abc", got)
	_, other := logsink.SecretSealer([]byte("another key here!"))
	_, err = other(s)
	assert.Error(t, err)
	_, err = open("whsec_abc")
	assert.Error(t, err, "not sealed")
}
