package secrets_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/internal/secrets"
)

func TestLoadOrCreate(t *testing.T) {
	t.Run("concurrent first starts agree on one secret", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "d")
		path := filepath.Join(dir, "secret")
		var wg sync.WaitGroup
		got := make([][]byte, 8)
		created := make([]bool, 8)
		for i := range got {
			wg.Go(func() {
				s, c, err := secrets.LoadOrCreate(path, 32)
				assert.NoError(t, err)
				got[i], created[i] = s, c
			})
		}
		wg.Wait()
		n := 0
		for i, s := range got {
			assert.Equal(t, got[0], s)
			if created[i] {
				n++
			}
		}
		assert.Equal(t, 1, n, "one of them created it")
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, entries, 1, "no temporary files are left")
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		again, c, err := secrets.LoadOrCreate(path, 32)
		require.NoError(t, err)
		assert.False(t, c)
		assert.Equal(t, got[0], again)
	})
	t.Run("loose permissions are refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "secret")
		require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("s", 64)), 0o644))
		_, _, err := secrets.LoadOrCreate(path, 32)
		require.ErrorContains(t, err, "chmod 600")
	})
	t.Run("short", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "secret")
		require.NoError(t, os.WriteFile(path, []byte("short"), 0o600))
		_, _, err := secrets.LoadOrCreate(path, 32)
		require.ErrorContains(t, err, "at least 32")
	})
}

func TestDerive(t *testing.T) {
	s := []byte("a secret of the operator")
	a, b := secrets.Derive(s, "one use", 32), secrets.Derive(s, "another use", 32)
	assert.Len(t, a, 32)
	assert.NotEqual(t, a, b, "one key per purpose")
	assert.Equal(t, a, secrets.Derive(s, "one use", 32), "deterministic")
	assert.NotEqual(t, a, secrets.Derive([]byte("another secret"), "one use", 32))
	assert.Len(t, secrets.Derive(s, "short", 16), 16)
}
