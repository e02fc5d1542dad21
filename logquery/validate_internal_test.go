package logquery

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Validate does not check again what a parser checked: a Filter whose
// record of validity is forged for invalid conditions passes (only the
// paging is checked), which no caller outside the package can do.
func TestValidateSkipsWhatWasValidated(t *testing.T) {
	f, err := ParseValues(url.Values{"level": {"error"}})
	require.NoError(t, err)
	forged := f
	forged.Level = "fatal"
	forged.stamp()
	assert.NoError(t, forged.Validate())
	forged.Limit = MaxLimit + 1
	assert.Error(t, forged.Validate(), "paging is always checked")
}
