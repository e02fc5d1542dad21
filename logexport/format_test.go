package logexport_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logexport"
	"github.com/ithbat/logs/logstore"
)

// The JSON exports write THE entry JSON (logs.AppendJSON): the list's
// members in the API's order, text not HTML-escaped, the stored metadata
// as it is.
func TestJSONEncodersWriteTheEntryJSON(t *testing.T) {
	r := logstore.RawEntry{
		Entry: logs.Entry{ID: "0192f7a0-3b1c-7d2e-8f00-1a2b3c4d5e6f", TenantID: "acme", Level: logs.LevelWarn, Source: "auth",
			Message: "a < b && c > d", CreatedAt: time.Date(2026, 3, 18, 14, 32, 7, 0, time.UTC)},
		Metadata: []byte(`{"url":"https://x.test/?a=1&b=<2>"}`),
	}
	list, err := r.Entry.MarshalJSON()
	require.NoError(t, err)
	list = bytes.Replace(list, []byte(`"metadata":{}`), append([]byte(`"metadata":`), r.Metadata...), 1)
	assert.Contains(t, string(list), `"message":"a < b && c > d"`)
	for _, tt := range []struct {
		format logexport.Format
		want   string
	}{
		{logexport.FormatJSON, "[\n" + string(list) + "\n]\n"},
		{logexport.FormatNDJSON, string(list) + "\n"},
	} {
		t.Run(string(tt.format), func(t *testing.T) {
			var buf bytes.Buffer
			enc, flush := logexport.NewTestFileEncoder(tt.format, &buf)
			require.NoError(t, enc(&r))
			require.NoError(t, flush())
			assert.Equal(t, tt.want, buf.String())
		})
	}
}
