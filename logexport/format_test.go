package logexport_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
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

// The export's csv encoder and encoding/csv write the same bytes, but for a
// carriage return inside a field: encoding/csv (UseCRLF, which RFC 4180's
// record ends need) drops a lone CR and writes LF as CRLF, the export's
// encoder keeps every byte of the entry.
func TestCSVEncodersAgree(t *testing.T) {
	at := time.Date(2026, 3, 18, 14, 32, 7, 0, time.UTC)
	var rs []logstore.RawEntry
	for i, m := range []string{"plain", "comma, \"quotes\"", " leading space", "=1+2", "+x", "-y", "@z", "\ttab", `\.`, "", "é — 日本", "line\nfeed", "crlf\r\nend", "\rlone CR first", "lone\rCR"} {
		rs = append(rs, logstore.RawEntry{Entry: logs.Entry{ID: fmt.Sprintf("id-%d", i), TenantID: "-t", Level: logs.LevelInfo,
			Source: "@s", Message: m, CreatedAt: at}, Metadata: []byte(`{"k":"=v, \"q\""}`)})
	}
	out := map[string]string{}
	for name, mk := range logexport.CSVEncoders() {
		var buf bytes.Buffer
		enc, done := mk(&buf)
		for i := range rs {
			require.NoError(t, enc(&rs[i]))
		}
		require.NoError(t, done())
		out[name] = buf.String()
	}
	hand, std := out["hand-written"], out["encoding/csv"]
	assert.True(t, strings.HasPrefix(hand, "id,tenantId,level,source,message,metadata,createdAt\r\n"))
	assert.Contains(t, hand, "\"'\rlone CR first\"")
	assert.Contains(t, hand, "\"lone\rCR\"")
	assert.Contains(t, std, "\"loneCR\"", "encoding/csv drops the lone CR")
	assert.Equal(t, strings.NewReplacer("\"lone\rCR\"", "\"loneCR\"", "'\rlone", "'lone", "line\nfeed", "line\r\nfeed").Replace(hand), std,
		"the rest is the same bytes")
	rows, err := csv.NewReader(strings.NewReader(hand)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, len(rs)+1)
	for i, r := range rs {
		assert.Equal(t, strings.ReplaceAll(logexport.Neutralize(r.Entry.Message), "\r\n", "\n"), rows[i+1][4])
	}
}
