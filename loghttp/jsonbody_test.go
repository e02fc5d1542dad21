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

func TestUniqueKeys(t *testing.T) {
	tests := []struct {
		raw  string
		want string // "" for none
	}{
		{`{}`, ""},
		{`{"a":1,"b":{"a":1},"c":[{"a":1},{"a":1}],"d":[[],[{}]]}`, ""},
		{`{"a":1,"a":2}`, `has the key "a" more than once in metadata;`},
		{`{"a":1,"\u0061":2}`, `has the key "a" more than once in metadata;`},
		{`{"user":{"id":1,"role":"x","id":2}}`, `has the key "id" more than once in metadata.user;`},
		{`{"l":[1,[{"k":1}],{"k":1,"k":2}]}`, `has the key "k" more than once in metadata.l[2];`},
		{`{"a":{"b":[[{"c":{"d":1,"d":1}}]]}}`, `has the key "d" more than once in metadata.a.b[0][0].c;`},
		{`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17}`, ""},
		{`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k3":17}`, `has the key "k3" more than once in metadata;`},
		{`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k16":0}`, `has the key "k16" more than once in metadata;`},
	}
	for _, tt := range tests {
		t.Run(tt.raw[:min(len(tt.raw), 40)], func(t *testing.T) {
			err := uniqueKeys([]byte(tt.raw), "metadata")
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "metadata: "+tt.want)
		})
	}
}

// hasDuplicateByDecoder is the reference for uniqueKeys: encoding/json's
// tokenizer, a set of keys per open object.
func hasDuplicateByDecoder(t testing.TB, raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct {
		obj     bool
		keyNext bool
		seen    map[string]bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if k, ok := tok.(string); ok && top != nil && top.obj && top.keyNext {
			if top.seen[k] {
				return true
			}
			top.seen[k] = true
			top.keyNext = false
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if top != nil && top.obj {
				top.keyNext = true
			}
			stack = append(stack, &frame{obj: tok == json.Delim('{'), keyNext: true, seen: map[string]bool{}})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		default:
			if top != nil && top.obj {
				top.keyNext = true
			}
		}
	}
}

// FuzzUniqueKeys checks uniqueKeys against the decoder on every valid JSON
// value.
func FuzzUniqueKeys(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"a":2}`, `{"a":{"b":1,"b":2}}`, `[{"a":[{"x":1,"x":1}]}]`,
		`{"a":"{\"a\":1,\"a\":1}","b":[1,"a",{"a":{}},{"a":[]}]}`, `{"\u0061":1,"a":1}`, `"x"`, `[1,2,{"k":{"k":{"k":1}}}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		assert.Equal(t, hasDuplicateByDecoder(t, raw), uniqueKeys(raw, "metadata") != nil, "%s", raw)
	})
}
