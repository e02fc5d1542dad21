package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ithbat/logs"
)

// printer writes entries in one output format.
type printer interface {
	entry(e logs.Entry) error
	close() error
}

func newPrinter(format string, w io.Writer, color bool, formats ...string) (printer, error) {
	if !slices.Contains(formats, format) {
		return nil, usagef("-o must be one of %s; got %q", strings.Join(formats, ", "), format)
	}
	switch format {
	case "json":
		return &jsonPrinter{w: w}, nil
	case "jsonl":
		return &jsonlPrinter{w: w}, nil
	case "csv":
		cw := csv.NewWriter(w)
		return &csvPrinter{w: cw}, cw.Write([]string{"id", "tenantId", "level", "source", "message", "metadata", "createdAt"})
	}
	return &tablePrinter{w: w, color: color, sourceWidth: 8}, nil
}

type jsonlPrinter struct{ w io.Writer }

func (p *jsonlPrinter) entry(e logs.Entry) error {
	b, err := e.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = p.w.Write(append(b, '\n'))
	return err
}

func (p *jsonlPrinter) close() error { return nil }

// jsonPrinter writes one JSON array, one entry per line, as an export.
type jsonPrinter struct {
	w io.Writer
	n int
}

func (p *jsonPrinter) entry(e logs.Entry) error {
	b, err := e.MarshalJSON()
	if err != nil {
		return err
	}
	sep := ",\n"
	if p.n == 0 {
		sep = "[\n"
	}
	p.n++
	_, err = io.WriteString(p.w, sep+string(b))
	return err
}

func (p *jsonPrinter) close() error {
	end := "\n]\n"
	if p.n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(p.w, end)
	return err
}

type csvPrinter struct{ w *csv.Writer }

func (p *csvPrinter) entry(e logs.Entry) error {
	md, err := logs.EncodeMetadata(e.Metadata)
	if err != nil {
		return err
	}
	return p.w.Write([]string{e.ID, e.TenantID, string(e.Level), e.Source, e.Message, string(md), logs.FormatTime(e.CreatedAt)})
}

func (p *csvPrinter) close() error {
	p.w.Flush()
	return p.w.Error()
}

// tablePrinter writes aligned columns: time, level (coloured on a
// terminal), source, message, and the metadata shortened.
type tablePrinter struct {
	w           io.Writer
	color       bool
	sourceWidth int
	msgWidth    int // messages are padded to it when metadata follows
	header      bool
}

var levelColor = map[logs.Level]string{logs.LevelInfo: "\x1b[32m", logs.LevelWarn: "\x1b[33m", logs.LevelError: "\x1b[31m"}

func (p *tablePrinter) entry(e logs.Entry) error {
	var b strings.Builder
	if !p.header {
		p.header = true
		fmt.Fprintf(&b, "%-27s  %-5s  %-*s  %s\n", "TIME", "LEVEL", p.sourceWidth, "SOURCE", "MESSAGE")
	}
	lv := fmt.Sprintf("%-5s", clean(string(e.Level), 5))
	if c, ok := levelColor[e.Level]; ok && p.color {
		lv = c + lv + "\x1b[0m"
	}
	msg := clean(e.Message, 400)
	fmt.Fprintf(&b, "%-27s  %s  %-*s  %s", logs.FormatTime(e.CreatedAt), lv, p.sourceWidth, clean(e.Source, 40), msg)
	if md := shortMetadata(e.Metadata); md != "" {
		b.WriteString(strings.Repeat(" ", max(p.msgWidth-utf8.RuneCountInString(msg), 0)))
		if p.color {
			md = "\x1b[2m" + md + "\x1b[0m"
		}
		b.WriteString("  " + md)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(p.w, b.String())
	return err
}

func (p *tablePrinter) close() error { return nil }

// clean makes s one printable line of at most n runes: line breaks show as
// ⏎, other control characters (a terminal's escape sequences among them)
// as �.
func clean(s string, n int) string {
	var b strings.Builder
	count := 0
	for _, r := range s {
		if count == n {
			b.WriteString("…")
			break
		}
		switch {
		case r == '\n':
			r = '⏎'
		case r == '\t':
			r = ' '
		case r < 0x20 || (r >= 0x7f && r < 0xa0) || r == utf8.RuneError:
			r = '�'
		}
		b.WriteRune(r)
		count++
	}
	return b.String()
}

// shortMetadata is the metadata as key=value pairs, keys sorted, each
// value and the whole clipped.
func shortMetadata(md map[string]any) string {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		var v string
		switch x := md[k].(type) {
		case string:
			v = x
			if strings.ContainsAny(v, " =\"") || v == "" {
				q, _ := json.Marshal(v)
				v = string(q)
			}
		default:
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(x)
			v = strings.TrimSpace(buf.String())
		}
		parts = append(parts, clean(k, 30)+"="+clean(v, 40))
	}
	return clean(strings.Join(parts, " "), 160)
}
