package loghttp

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ithbat/logs"
)

// ingestBody returns the body of an ingest request (either path), as
// Content-Encoding says (none, identity or gzip), bounded by
// MaxIngestBytes both as sent and once decompressed: a reader past either
// limit fails with an *http.MaxBytesError (413) as soon as it crosses it,
// without reading the rest. It sets the body's read deadline (BodyTimeout);
// done lifts it once the body is read (never after an error: a stalled
// body must stay cut off).
func (s *Server) ingestBody(w http.ResponseWriter, r *http.Request) (body io.Reader, done func(), err error) {
	gz := false
	switch vals := r.Header.Values("Content-Encoding"); {
	case len(vals) == 0:
	case len(vals) > 1:
		return nil, nil, logs.Invalid("Content-Encoding", "is given more than once; send gzip or identity")
	case strings.EqualFold(strings.TrimSpace(vals[0]), "identity") || strings.TrimSpace(vals[0]) == "":
	case strings.EqualFold(strings.TrimSpace(vals[0]), "gzip") || strings.EqualFold(strings.TrimSpace(vals[0]), "x-gzip"):
		gz = true
	default:
		return nil, nil, logs.Invalid("Content-Encoding", "must be gzip or identity; got %q", clip(vals[0], 40))
	}
	if r.ContentLength > s.opts.MaxIngestBytes {
		return nil, nil, s.tooLarge()
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.opts.BodyTimeout))
	done = func() { _ = rc.SetReadDeadline(time.Time{}) }
	body = http.MaxBytesReader(innermost(w), r.Body, s.opts.MaxIngestBytes)
	if !gz {
		return body, done, nil
	}
	zr, err := gzip.NewReader(body)
	if err != nil {
		if s.isTooLarge(err) {
			return nil, nil, s.tooLarge()
		}
		return nil, nil, logs.Invalid("Content-Encoding", "says gzip, but the body is not gzip data")
	}
	return &gzipBody{zr: zr, max: s.opts.MaxIngestBytes}, done, nil
}

// gzipBody reads a gzip stream up to max decompressed bytes; corrupt data
// is an errCorruptGzip.
type gzipBody struct {
	zr  *gzip.Reader
	n   int64
	max int64
}

// errCorruptGzip is a read error of a gzip body that is not the body's
// transport (too large, too slow).
var errCorruptGzip = errors.New("loghttp: corrupt gzip body")

func (b *gzipBody) Read(p []byte) (int, error) {
	if b.n > b.max {
		return 0, &http.MaxBytesError{Limit: b.max}
	}
	if rest := b.max - b.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.zr.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return n - int(b.n-b.max), &http.MaxBytesError{Limit: b.max}
	}
	var mbe *http.MaxBytesError
	if err != nil && err != io.EOF && !errors.As(err, &mbe) && !isTimeout(err) {
		err = errors.Join(errCorruptGzip, err)
	}
	return n, err
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}
