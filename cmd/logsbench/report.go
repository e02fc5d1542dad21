package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// figure is one measured value: a rate (higher is better), a size, or
// latencies (p50, p95 and maybe p99, lower is better).
type figure struct {
	Unit   string    `json:"unit"`             // "rows/s", "ms", "bytes"
	Values []float64 `json:"values,omitempty"` // one value, or p50, p95(, p99)
	Note   string    `json:"note,omitempty"`
}

// row is one line of the table.
type row struct {
	Work  string    `json:"work"`
	Raw   figure    `json:"raw"`
	Logsd figure    `json:"logsd"`
	Ratio []float64 `json:"ratio,omitempty"` // logsd / raw, value by value
}

type report struct {
	Entries   int       `json:"entries"`
	Tenants   int       `json:"tenants"`
	Largest   int64     `json:"largestTenant"`
	Seed      uint64    `json:"seed"`
	StartedAt time.Time `json:"startedAt"`
	Rows      []row     `json:"rows"`
	Notes     []string  `json:"notes,omitempty"`

	databases []string // the scratch databases made (and dropped)
}

func (r *report) add(work string, raw, logsd figure) {
	w := row{Work: work, Raw: raw, Logsd: logsd}
	if len(raw.Values) > 0 && len(raw.Values) == len(logsd.Values) {
		for i := range raw.Values {
			w.Ratio = append(w.Ratio, logsd.Values[i]/raw.Values[i])
		}
	} else if len(raw.Values) > 0 && len(logsd.Values) > 0 {
		w.Ratio = []float64{logsd.Values[len(logsd.Values)-1] / raw.Values[len(raw.Values)-1]}
	}
	r.Rows = append(r.Rows, w)
}

func rate(rows int, d time.Duration) figure {
	return figure{Unit: "rows/s", Values: []float64{float64(rows) / d.Seconds()}}
}

// latencies returns p50 and p95 (and p99 with withP99) in milliseconds.
func latencies(ds []time.Duration, withP99 bool) figure {
	if len(ds) == 0 {
		return figure{Unit: "ms"}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return float64(s[max(i, 0)]) / float64(time.Millisecond)
	}
	f := figure{Unit: "ms", Values: []float64{q(0.50), q(0.95)}}
	if withP99 {
		f.Values = append(f.Values, q(0.99))
	}
	return f
}

// count writes n with thousands separators.
func count[T int | int64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func num(v float64) string {
	switch {
	case v >= 100:
		return count(int64(math.Round(v)))
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func (f figure) String() string {
	if len(f.Values) == 0 {
		return "·"
	}
	parts := make([]string, len(f.Values))
	for i, v := range f.Values {
		parts[i] = num(v)
	}
	s := strings.Join(parts, " / ") + " " + f.Unit
	if f.Note != "" {
		s += " (" + f.Note + ")"
	}
	return s
}

func ratioString(rs []float64) string {
	if len(rs) == 0 {
		return "·"
	}
	parts := make([]string, len(rs))
	for i, v := range rs {
		parts[i] = num(v) + "×"
	}
	return strings.Join(parts, " / ")
}

// print writes the table in Markdown.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\n%s entries, %d tenants (largest %s), seed %d; latencies p50 / p95 (/ p99)\n\n",
		count(r.Entries), r.Tenants, count(r.Largest), r.Seed)
	fmt.Fprintln(w, "| work | raw SQL | logsd | logsd / raw |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, x := range r.Rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", x.Work, x.Raw, x.Logsd, ratioString(x.Ratio))
	}
	fmt.Fprintln(w, "\nlogsd / raw is logsd's figure divided by raw SQL's: below 1 logsd is faster for times and smaller for bytes; above 1 it is faster for rows/s.")
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\n%s\n", n)
	}
}

func (r *report) writeJSON(path string, stdout io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
