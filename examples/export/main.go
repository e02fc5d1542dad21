// Command export downloads an export of a tenant's logs from a logsd into
// a file with logclient: it submits the export, waits for it, downloads the
// file with progress, and checks that it holds the announced records.
//
//	go run ./export -url http://127.0.0.1:8080 -token "$TOKEN" -tenant acme -format csv -o logs.csv
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ithbat/logs/logclient"
	"github.com/ithbat/logs/logquery"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "the logsd")
	token := flag.String("token", os.Getenv("LOGS_TOKEN"), "bearer token with log:read")
	tenant := flag.String("tenant", "acme", "tenant")
	format := flag.String("format", "csv", "csv, json or ndjson")
	source := flag.String("source", "", "only this source")
	file := flag.String("o", "logs.csv", "the file to write")
	flag.Parse()
	if err := run(context.Background(), *url, *token, *tenant, logclient.Format(*format), *source, *file, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "export:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, url, token, tenant string, format logclient.Format, source, file string, out io.Writer) error {
	c, err := logclient.New(url, token, tenant, nil)
	if err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	job, err := c.Export(ctx, format, logquery.Filter{Source: source}, f, &logclient.ExportOptions{
		OnJob: func(j *logclient.ExportJob) {
			fmt.Fprintf(out, "export %s: %s, %d records\n", j.ID, j.Status, j.EstimatedRecords)
		},
		Progress: func(p logclient.Progress) {
			if p.Done {
				fmt.Fprintf(out, "downloaded %d bytes, %d records\n", p.Bytes, p.Records)
			}
		},
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(file) // a file that is not the whole export is no use
		return err
	}
	fmt.Fprintf(out, "wrote %d records to %s\n", job.EstimatedRecords, file)
	return nil
}
