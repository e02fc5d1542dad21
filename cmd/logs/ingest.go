package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logclient"
)

// maxLine bounds one NDJSON line: the server takes 10 MiB a request.
const maxLine = 10 << 20

func runIngest(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "ingest", "[FILE|-]")
	var cf common
	cf.register(fs, e)
	batch := fs.Int("batch", 1000, "entries a request, at most 10000")
	printIDs := fs.Bool("ids", false, "print the stored entries' ids, one a line, on stdout")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	if *batch < 1 || *batch > 10_000 {
		return usagef("--batch must be from 1 to 10000")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	name := fs.Arg(0)
	var in io.Reader = e.stdin
	if name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return usagef("%v", err)
		}
		defer f.Close()
		// A file is read twice: once to check every line, so that a bad
		// line stores nothing, then to send.
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if err := eachEntry(f, 1, func(int, logs.Entry) error { return nil }); err != nil {
				return fmt.Errorf("%s: %w (nothing was stored)", name, err)
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
		}
		in = f
	} else {
		name = "stdin"
	}
	var (
		pending []logs.Entry
		lines   []int // the line of each pending entry
		stored  int
		lastOK  int // the last line stored
	)
	send := func() error {
		if len(pending) == 0 {
			return nil
		}
		ids, err := c.Ingest(ctx, pending, &logclient.IngestOptions{BatchSize: len(pending)})
		if err != nil {
			return lineError(err, lines)
		}
		stored += len(ids)
		lastOK = lines[len(lines)-1]
		if *printIDs {
			var b strings.Builder
			for _, id := range ids {
				b.WriteString(id + "\n")
			}
			if _, err := io.WriteString(e.stdout, b.String()); err != nil {
				return err
			}
		}
		pending, lines = pending[:0], lines[:0]
		return nil
	}
	err = eachEntry(in, 1, func(line int, entry logs.Entry) error {
		pending, lines = append(pending, entry), append(lines, line)
		if len(pending) == *batch {
			return send()
		}
		return nil
	})
	if err == nil {
		err = send()
	}
	if err != nil {
		if stored > 0 {
			return fmt.Errorf("%s: %w; the %d entries up to line %d were stored, nothing after: send the rest from line %d on (tail -n +%d)",
				name, err, stored, lastOK, lastOK+1, lastOK+1)
		}
		return fmt.Errorf("%s: %w (nothing was stored)", name, err)
	}
	if stored == 1 {
		fmt.Fprintln(e.stderr, "stored 1 entry")
	} else {
		fmt.Fprintf(e.stderr, "stored %d entries\n", stored)
	}
	return nil
}

// inputError is a bad line of the input: exit 1.
type inputError struct{ msg string }

func (i inputError) Error() string { return i.msg }

// eachEntry calls fn with every entry of the NDJSON in r and its line
// number (blank lines are skipped).
func eachEntry(r io.Reader, first int, fn func(line int, e logs.Entry) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for line := first; ; line++ {
		raw, err := readLine(br)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.Is(err, errLongLine) {
				return inputError{fmt.Sprintf("line %d is longer than %d bytes", line, maxLine)}
			}
			return err
		}
		if line == first {
			raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")) // a byte order mark some editors write
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		entry, err := decodeLine(raw)
		if err != nil {
			return inputError{fmt.Sprintf("line %d: %v", line, err)}
		}
		if err := fn(line, entry); err != nil {
			return err
		}
	}
}

var errLongLine = errors.New("line too long")

// readLine reads one line (without its end) of at most maxLine bytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > maxLine+2 {
			// Skip the rest of the line, so that a caller could go on.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			return nil, errLongLine
		}
		switch {
		case err == nil:
			return bytes.TrimRight(out, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(out) > 0:
			return out, nil
		}
		return nil, err
	}
}

// decodeLine reads one entry: a JSON object of the entry's fields only.
func decodeLine(raw []byte) (logs.Entry, error) {
	var entry logs.Entry
	if raw[0] != '{' {
		return entry, errors.New("is not a JSON object (one log entry a line)")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&entry); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return entry, fmt.Errorf("%s must be a %s", te.Field, map[bool]string{true: "JSON object", false: "string"}[te.Field == "metadata"])
		case errors.As(err, &se):
			return entry, fmt.Errorf("is not valid JSON: %v", se)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return entry, fmt.Errorf("%s is not a field of a log entry (id, tenantId, level, source, message, metadata, createdAt)",
				strings.TrimPrefix(err.Error(), "json: unknown field "))
		case strings.Contains(err.Error(), "parsing time"):
			return entry, errors.New("createdAt must be an RFC 3339 time such as 2026-03-18T14:32:07Z")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return entry, errors.New("is not valid JSON: it ends inside an object")
		}
		return entry, err
	}
	if dec.More() {
		return entry, errors.New("holds more than one JSON value (one log entry a line)")
	}
	return entry, nil
}

var batchField = regexp.MustCompile(`^logs\[(\d+)\]\.?`)

// lineError names the input line of a server error about logs[i].
func lineError(err error, lines []int) error {
	var se *logclient.Error
	if !errors.As(err, &se) {
		return err
	}
	m := batchField.FindStringSubmatch(se.Field)
	if m == nil {
		return err
	}
	i, _ := strconv.Atoi(m[1])
	if i >= len(lines) {
		return err
	}
	field := se.Field[len(m[0]):]
	if field == "" {
		field = "the entry"
	}
	return &lineRefusal{err: se, line: lines[i], field: field}
}

// lineRefusal is a server's refusal of the entry of one line.
type lineRefusal struct {
	err   *logclient.Error
	line  int
	field string
}

func (l *lineRefusal) Error() string {
	return fmt.Sprintf("line %d: %s: %s (%d %s)", l.line, l.field, l.err.Message, l.err.Status, l.err.Code)
}

func (l *lineRefusal) Unwrap() error { return l.err }
