package logtree

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/ithbat/logs"
)

// Checkpoint is a signed statement about a tenant's tree: its size and
// root hash at a time. Note is the signed note it was read from.
type Checkpoint struct {
	Origin   string    `json:"origin"`
	TreeSize int64     `json:"treeSize"`
	RootHash tlog.Hash `json:"rootHash"`
	Time     time.Time `json:"time"`
	// Note is the signed note, in the C2SP checkpoint form.
	Note string `json:"note"`
}

// MarshalJSON writes c with its time as the API writes times
// (logs.FormatTime).
func (c Checkpoint) MarshalJSON() ([]byte, error) {
	type plain Checkpoint
	return json.Marshal(struct {
		plain
		Time string `json:"time"`
	}{plain(c), logs.FormatTime(c.Time)})
}

// Origin is the origin line of tenant's checkpoints signed by the key
// named keyName: "keyName/tenant". It names the log, so that a checkpoint
// of one tenant's tree is never taken for another's.
func Origin(keyName, tenant string) string { return keyName + "/" + tenant }

// checkpointBody is the C2SP checkpoint text (c2sp.org/tlog-checkpoint):
// origin, size, base64 root hash, then one extension line with the time.
func checkpointBody(origin string, size int64, root tlog.Hash, at time.Time) string {
	return fmt.Sprintf("%s\n%d\n%s\ntime %s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]), logs.FormatTime(at))
}

// sign signs a checkpoint of tenant's tree.
func sign(k *Key, tenant string, size int64, root tlog.Hash, at time.Time) ([]byte, error) {
	if k.Signer == nil {
		return nil, fmt.Errorf("logtree: sign: %w: the key verifies only", logs.ErrInternal)
	}
	msg, err := note.Sign(&note.Note{Text: checkpointBody(Origin(k.Name(), tenant), size, root, at)}, k.Signer)
	if err != nil {
		return nil, fmt.Errorf("logtree: sign: %w: %w", logs.ErrInternal, err)
	}
	return msg, nil
}

// ErrCheckpoint is wrapped by the errors of OpenCheckpoint: a note that is
// not a checkpoint of the tenant signed by the key.
var ErrCheckpoint = errors.New("logtree: not a valid checkpoint")

// OpenCheckpoint checks that msg is a signed note in the C2SP checkpoint
// form, signed by the key of verifierKey (a note verifier key), whose
// origin is tenant's log under that key's name, and returns what it says.
// It trusts nothing but the key.
func OpenCheckpoint(verifierKey, tenant string, msg []byte) (Checkpoint, error) {
	v, err := note.NewVerifier(strings.TrimSpace(verifierKey))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("logtree: verifier key: %w: %w", logs.ErrInvalid, err)
	}
	return openCheckpoint(v, tenant, msg)
}

func openCheckpoint(v note.Verifier, tenant string, msg []byte) (Checkpoint, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrCheckpoint, fmt.Sprintf(format, a...))
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, bad("%v", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return Checkpoint{}, bad("fewer than three lines")
	}
	c := Checkpoint{Origin: lines[0], Note: string(msg)}
	if want := Origin(v.Name(), tenant); c.Origin != want {
		return Checkpoint{}, bad("the origin is %q, not %q", clip(c.Origin), want)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return Checkpoint{}, bad("the tree size %q is not a number", clip(lines[1]))
	}
	c.TreeSize = size
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return Checkpoint{}, bad("the root hash is not 32 bytes in base64")
	}
	copy(c.RootHash[:], root)
	for _, l := range lines[3:] {
		if t, ok := strings.CutPrefix(l, "time "); ok {
			if c.Time, err = time.Parse(time.RFC3339Nano, t); err != nil {
				return Checkpoint{}, bad("the time %q is not RFC 3339", clip(t))
			}
		}
	}
	return c, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// sameNote reports whether two notes are the same bytes.
func sameNote(a, b []byte) bool { return bytes.Equal(a, b) }
