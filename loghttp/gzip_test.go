package loghttp_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ithbat/logs/loghttp"
	"github.com/ithbat/logs/logstore/bunstore"
)

func gz(tb testing.TB, s string) []byte {
	tb.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := io.WriteString(w, s)
	require.NoError(tb, err)
	require.NoError(tb, w.Close())
	return b.Bytes()
}

// countingReader counts the bytes the server took of a body.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestIngestGzip(t *testing.T) {
	backends(t, func(t *testing.T, st *bunstore.Store) {
		e := newEnv(t, st, &envOptions{opts: loghttp.Options{MaxIngestBytes: 64 << 10}})
		write := token(t, "zip", loghttp.PermWrite)
		post := func(body io.Reader, h http.Header) *resp {
			return e.do(t, req{method: http.MethodPost, path: "/api/v1/logs", token: write, tenant: "zip", body: body, header: h})
		}
		gzipped := http.Header{"Content-Encoding": {"gzip"}, "Content-Type": {"application/x-ndjson"}}

		t.Run("a gzip body is ingested", func(t *testing.T) {
			var in ingested
			post(bytes.NewReader(gz(t, "{\"level\":\"info\",\"source\":\"zip\",\"message\":\"compressed one\"}\n"+
				"{\"level\":\"warn\",\"source\":\"zip\",\"message\":\"compressed two\"}\n")), gzipped).data(t, 201, &in)
			assert.Equal(t, 2, in.Count)
			assert.ElementsMatch(t, []string{"compressed one", "compressed two"}, e.list(t, "zip", "source=zip").messages())
		})
		t.Run("the limit is on the decompressed size: a bomb is a 413 read only in part", func(t *testing.T) {
			// 64 KiB allowed; this is about 32 KB and inflates to 32 MiB.
			var b bytes.Buffer
			w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			_, _ = io.WriteString(w, `{"level":"info","source":"zip","message":"`)
			zeros := bytes.Repeat([]byte("0"), 1<<20)
			for range 32 {
				_, _ = w.Write(zeros)
			}
			_, _ = io.WriteString(w, `"}`)
			require.NoError(t, w.Close())
			require.Less(t, b.Len(), 64<<10, "the compressed body is itself within the limit")
			require.Greater(t, b.Len(), 16<<10)
			post(bytes.NewReader(b.Bytes()), http.Header{"Content-Encoding": {"gzip"}}).requireError(t, 413, "payload_too_large", "")

			// Through the handler itself, to count what it read.
			srv := loghttp.New(st, &loghttp.Options{MaxIngestBytes: 64 << 10, Authenticator: authenticator(t)})
			cr := &countingReader{r: bytes.NewReader(b.Bytes())}
			hr := httptest.NewRequest(http.MethodPost, "/api/v1/logs", cr)
			hr.Header.Set("Authorization", "Bearer "+write)
			hr.Header.Set("X-Tenant-ID", "zip")
			hr.Header.Set("Content-Encoding", "gzip")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, hr)
			assert.Equal(t, 413, rec.Code, rec.Body.String())
			assert.Less(t, cr.n, int64(b.Len()/2), "the server stops reading at the decompressed limit")
		})
		t.Run("hostile encodings", func(t *testing.T) {
			body := `{"level":"info","source":"zip","message":"m"}`
			full := gz(t, body)
			badCRC := append([]byte{}, full...)
			badCRC[len(badCRC)-8] ^= 0xff
			for name, c := range map[string]struct {
				body []byte
				h    http.Header
			}{
				"not gzip":          {[]byte(body), http.Header{"Content-Encoding": {"gzip"}}},
				"truncated":         {full[:len(full)-6], http.Header{"Content-Encoding": {"gzip"}}},
				"bad checksum":      {badCRC, http.Header{"Content-Encoding": {"gzip"}}},
				"unknown encoding":  {[]byte(body), http.Header{"Content-Encoding": {"br"}}},
				"two encodings":     {full, http.Header{"Content-Encoding": {"gzip", "gzip"}}},
				"stacked encodings": {full, http.Header{"Content-Encoding": {"gzip, gzip"}}},
			} {
				t.Run(name, func(t *testing.T) {
					post(bytes.NewReader(c.body), c.h).requireError(t, 400, "invalid_argument", "Content-Encoding")
				})
			}
			var in ingested
			post(strings.NewReader(body), http.Header{"Content-Encoding": {"identity"}}).data(t, 201, &in)
			post(bytes.NewReader(full), http.Header{"Content-Encoding": {"GZIP"}}).data(t, 201, &in)
		})
	})
}
