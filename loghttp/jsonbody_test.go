package loghttp

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// membersByDecoder lists the keys and values of the JSON object raw with
// encoding/json's tokenizer: the reference for members.
func membersByDecoder(t testing.TB, raw []byte) (keys []string, vals []string) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		var v json.RawMessage
		require.NoError(t, dec.Decode(&v))
		keys = append(keys, k.(string))
		vals = append(vals, string(v))
	}
	return keys, vals
}

// FuzzMembers checks the object scanner of checkObject against
// encoding/json on every valid JSON object.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":1,"a":2}`, "{\n\"a\" :\t\"x\" , \"b\":[1,{\"c\":\"}\"}],\"d\":null}",
		`{"k\"ey":"v\\","l\u0065vel":"x","level":true}`, `{"a":{"b":{"c":[[],{}]}},"e":-1.5e-3,"f":"]}\"{["}`,
		`{"":"","\\":"\\\\"}`, `{"a":"é","b":"\ud83d\ude00"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil || obj == nil {
			return
		}
		wantKeys, wantVals := membersByDecoder(t, raw)
		var keys, vals []string
		require.NoError(t, members(raw, func(k string, v []byte) error {
			keys, vals = append(keys, k), append(vals, string(v))
			return nil
		}))
		assert.Equal(t, wantKeys, keys)
		require.Len(t, vals, len(wantVals))
		for i := range vals {
			assert.JSONEq(t, wantVals[i], vals[i])
		}
	})
}
