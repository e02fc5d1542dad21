package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ithbat/logs/logclient"
)

func runExport(ctx context.Context, e *env, args []string) error {
	fs, cf, ff := filterCommand(e, "export", "--format csv|json|ndjson [filters] -o FILE")
	format := fs.String("format", "csv", "csv, json or ndjson")
	out := fs.String("o", "", "file to write (required; - for stdout); it appears only once complete and checked")
	force := fs.Bool("force", false, "replace the file when it exists")
	progress := fs.String("progress", "auto", "progress bar on stderr: auto (when it is a terminal), always or never")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	switch logclient.Format(*format) {
	case logclient.CSV, logclient.JSON, logclient.NDJSON:
	default:
		return usagef("--format must be csv, json or ndjson; got %q", *format)
	}
	if *out == "" {
		return usagef("-o FILE is required (- for stdout)")
	}
	var bar bool
	switch *progress {
	case "auto":
		bar = isTerminal(e.stderr)
	case "always":
		bar = true
	case "never":
	default:
		return usagef("--progress must be auto, always or never; got %q", *progress)
	}
	f, c, err := connect(e, cf, ff)
	if err != nil {
		return err
	}

	// The file is written beside its name and renamed once the download
	// is complete and holds the announced records: a failed export never
	// leaves a partial file under the name.
	var w io.Writer = e.stdout
	var tmp *os.File
	if *out != "-" {
		if _, err := os.Stat(*out); err == nil && !*force {
			return usagef("%s exists; give --force to replace it", *out)
		}
		tmp, err = os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".part-*")
		if err != nil {
			return usagef("cannot write beside %s: %v", *out, err)
		}
		defer func() {
			if tmp != nil {
				_ = tmp.Close()
				_ = os.Remove(tmp.Name())
			}
		}()
		w = tmp
	}
	var pb *progressBar
	if bar {
		pb = &progressBar{w: e.stderr}
	}
	job, err := c.Export(ctx, logclient.Format(*format), f, w, &logclient.ExportOptions{
		OnJob: func(j *logclient.ExportJob) {
			switch {
			case j.Status == logclient.StatusProcessing:
				fmt.Fprintf(e.stderr, "export %s: %d records\n", j.ID, j.EstimatedRecords)
			case pb != nil:
				pb.show("exporting", logclient.Progress{Records: j.EstimatedRecords, Expected: j.EstimatedRecords, Size: -1, Done: true})
			}
		},
		OnPoll: func(j *logclient.ExportJob) {
			if pb != nil && j.Status == logclient.StatusProcessing {
				pb.show("exporting", logclient.Progress{Records: j.ExportedRecords, Expected: j.EstimatedRecords, Size: -1})
			}
		},
		Progress: func(p logclient.Progress) {
			if pb != nil {
				pb.show("download ", p)
			}
		},
	})
	if pb != nil {
		pb.end()
	}
	if err != nil {
		if job != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("export %s: %w", job.ID, err)
		}
		return err
	}
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", *out, err)
		}
		if err := os.Rename(tmp.Name(), *out); err != nil {
			return fmt.Errorf("writing %s: %w", *out, err)
		}
		tmp = nil
		fmt.Fprintf(e.stderr, "wrote %d records to %s\n", job.EstimatedRecords, *out)
	}
	return nil
}

// progressBar draws one line on a terminal, at most every 100ms.
type progressBar struct {
	w     io.Writer
	label string
	last  time.Time
	drawn bool
}

func (b *progressBar) show(label string, p logclient.Progress) {
	if !p.Done && b.label == label && time.Since(b.last) < 100*time.Millisecond {
		return
	}
	if b.label != "" && b.label != label {
		fmt.Fprintln(b.w) // the exporting line stays, the download's follows
	}
	b.label = label
	b.last = time.Now()
	frac := 0.0
	switch {
	case p.Size > 0:
		frac = float64(p.Bytes) / float64(p.Size)
	case p.Expected > 0:
		frac = float64(p.Records) / float64(p.Expected)
	}
	frac = min(max(frac, 0), 1)
	const width = 30
	full := int(frac * width)
	fmt.Fprintf(b.w, "\r%s [%s%s] %3.0f%%  %d/%d records", label, strings.Repeat("=", full), strings.Repeat(" ", width-full),
		frac*100, p.Records, p.Expected)
	if p.Bytes > 0 {
		fmt.Fprintf(b.w, "  %s", bytesString(p.Bytes))
	}
	b.drawn = true
}

func (b *progressBar) end() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}

func bytesString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
