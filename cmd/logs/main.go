// Command logs is the command line of the Logs API: it pages through a
// tenant's logs, tails them with resume, downloads exports, ingests NDJSON
// and charts counts, against any logsd.
//
//	go install github.com/ithbat/logs/cmd/logs@latest
//	export LOGS_URL=http://127.0.0.1:8080 LOGS_TOKEN=... LOGS_TENANT=acme
//	logs query --level error --since 1h
//	logs tail --source auth
//	logs export --format csv --since 24h -o errors.csv
//	logs ingest events.ndjson
//	logs stats --since 24h --interval 1h
//
//	logs verify --key ithbat-logs+04aa70c0+AU... 01a23499-...
//
// Exit codes: 0 ok, 1 usage or bad input, 2 the server refused the
// request (4xx), 3 the server is unavailable (no answer, 5xx, or an answer
// that breaks the API's promises), 4 a proof does not verify.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/ithbat/logs"
	"github.com/ithbat/logs/logclient"
	"github.com/ithbat/logs/logquery"
)

// Exit codes.
const (
	exitOK          = 0
	exitUsage       = 1
	exitRefused     = 2
	exitUnavailable = 3
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

// env is what a command runs with.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
	now            time.Time
}

// command is one subcommand.
type command struct {
	name, args, help string
	run              func(ctx context.Context, e *env, args []string) error
}

// commands are the subcommands.
var commands = []command{
	{"query", "[filters] [--limit N | --all] [-o table|json|jsonl|csv]", "print a page of entries, or every one", runQuery},
	{"tail", "[filters] [--from-start | --last-event-id ID] [-o table|jsonl]", "print new entries as they come, resuming by itself", runTail},
	{"export", "--format csv|json|ndjson [filters] -o FILE", "export entries into a file, with progress", runExport},
	{"ingest", "[FILE|-]", "write the entries of an NDJSON file (or stdin)", runIngest},
	{"stats", "[filters] [--interval 1m|5m|1h|1d] [-o chart|json]", "chart counts over time", runStats},
	{"verify", "--key VERIFIERKEY [--checkpoint FILE] ID...", "check entries' proofs in the verifiable log against a key you hold", runVerify},
	{"version", "", "print the version", runVersion},
}

// usageError is an error of the command line: exit 1 with the usage hint.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, lookupEnv: lookupEnv, now: time.Now()}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	name, rest := args[0], args[1:]
	for _, c := range commands {
		if c.name == name {
			err := c.run(ctx, e, rest)
			return report(stderr, name, err)
		}
	}
	fmt.Fprintf(stderr, "logs: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: logs <command> [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n           %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintf(w, `
Every command takes --url (LOGS_URL, default http://127.0.0.1:8080), --token
(LOGS_TOKEN) and --tenant (LOGS_TENANT); "logs <command> -h" lists its flags.
Filters: --level info|warn|error, --source S, --search TEXT, and a range:
--since 1h (a duration back from now) or --from/--to (RFC 3339 or a date).

Exit codes: 0 ok, 1 usage or bad input, 2 refused by the server (4xx),
3 server unavailable, 4 a proof does not verify (logs verify).
`)
}

// report prints err and returns the exit code.
func report(stderr io.Writer, name string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "logs %s: %s\nRun 'logs %s -h' for its flags.\n", name, ue.msg, name)
		return exitUsage
	}
	if errors.Is(err, errFlags) {
		return exitUsage // the flag package said why
	}
	fmt.Fprintf(stderr, "logs %s: %v\n", name, err)
	return exitCode(err)
}

// exitCode is the code of an error that is not a usage error.
func exitCode(err error) int {
	var se *logclient.Error
	switch {
	case errors.As(err, &se) && se.Status >= 400 && se.Status < 500:
		return exitRefused
	case errors.As(err, &se), errors.Is(err, logs.ErrUnavailable), errors.Is(err, logclient.ErrRecordCount),
		errors.Is(err, logclient.ErrExportFailed):
		return exitUnavailable
	case errors.Is(err, errUnverified):
		return exitUnverified
	case errors.Is(err, context.Canceled):
		return 130
	}
	return exitUsage
}

// errFlags marks a flag parsing error that the flag package printed.
var errFlags = errors.New("bad flags")

// common are the flags of every command that talks to a server.
type common struct {
	url, token, tenant string
}

func (c *common) register(fs *flag.FlagSet, e *env) {
	get := func(k, def string) string {
		if v, ok := e.lookupEnv(k); ok && v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.url, "url", get("LOGS_URL", "http://127.0.0.1:8080"), "URL of the logsd (LOGS_URL)")
	fs.StringVar(&c.token, "token", get("LOGS_TOKEN", ""), "bearer token (LOGS_TOKEN); a file holding it with @FILE")
	fs.StringVar(&c.tenant, "tenant", get("LOGS_TENANT", ""), "tenant, the X-Tenant-ID (LOGS_TENANT)")
}

func (c *common) client() (*logclient.Client, error) {
	tok := c.token
	if strings.HasPrefix(tok, "@") {
		b, err := os.ReadFile(tok[1:])
		if err != nil {
			return nil, usagef("--token: %v", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" {
		return nil, usagef("no token: set LOGS_TOKEN or give --token (logsd token --tenant T prints one)")
	}
	if c.tenant == "" {
		return nil, usagef("no tenant: set LOGS_TENANT or give --tenant")
	}
	cl, err := logclient.New(c.url, tok, c.tenant, &logclient.Options{UserAgent: "logs-cli/" + versionString()})
	if err != nil {
		return nil, usagef("%s", strings.TrimPrefix(err.Error(), "url: "))
	}
	return cl, nil
}

// filterCommand is the flag set of a command that reads with a filter:
// the common flags and the filter's.
func filterCommand(e *env, name, args string) (*flag.FlagSet, *common, *filterFlags) {
	fs := newFlagSet(e, name, args)
	var cf common
	var ff filterFlags
	cf.register(fs, e)
	ff.register(fs)
	return fs, &cf, &ff
}

// connect checks the filter flags, then makes the client.
func connect(e *env, cf *common, ff *filterFlags) (logquery.Filter, *logclient.Client, error) {
	f, err := ff.filter(e.now)
	if err != nil {
		return f, nil, err
	}
	c, err := cf.client()
	return f, c, err
}

// filterFlags are the filter flags.
type filterFlags struct {
	level, source, search string
	since                 time.Duration
	from, to              string
}

func (f *filterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.level, "level", "", "only this level: info, warn or error")
	fs.StringVar(&f.source, "source", "", "only this source (exact)")
	fs.StringVar(&f.search, "search", "", `only messages holding every word and "quoted phrase" (case-insensitive)`)
	fs.DurationVar(&f.since, "since", 0, "only entries of this long back from now, such as 15m, 1h, 72h")
	fs.StringVar(&f.from, "from", "", "only entries from this time on (RFC 3339, or a date: its start)")
	fs.StringVar(&f.to, "to", "", "only entries up to this time (RFC 3339, or a date: its end)")
}

func (f *filterFlags) filter(now time.Time) (logquery.Filter, error) {
	var out logquery.Filter
	if f.level != "" {
		lv, err := logs.ParseLevel(f.level)
		if err != nil {
			return out, usagef("--level must be info, warn or error; got %q", f.level)
		}
		out.Level = lv
	}
	out.Source, out.Search = f.source, f.search
	if f.since != 0 && f.from != "" {
		return out, usagef("give --since or --from, not both")
	}
	if f.since < 0 {
		return out, usagef("--since must be a positive duration, such as 1h")
	}
	if f.since > 0 {
		out.Start = now.Add(-f.since)
	}
	var err error
	if f.from != "" {
		if out.Start, err = logquery.ParseTime("from", f.from, false); err != nil {
			return out, usagef("--from must be an RFC 3339 time (2026-03-01T00:00:00Z) or a date (2026-03-01); got %q", f.from)
		}
	}
	if f.to != "" {
		if out.End, err = logquery.ParseTime("to", f.to, true); err != nil {
			return out, usagef("--to must be an RFC 3339 time (2026-03-19T23:59:59Z) or a date (2026-03-19); got %q", f.to)
		}
	}
	if !out.Start.IsZero() && !out.End.IsZero() && out.Start.After(out.End) {
		return out, usagef("the range is empty: its start is after its end")
	}
	return out, nil
}

// parse parses args with fs, refusing stray arguments beyond maxArgs.
// -h prints the command's flags.
func parse(fs *flag.FlagSet, args []string, maxArgs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			helps[fs]()
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() > maxArgs {
		return usagef("unexpected argument %q (flags go before arguments)", fs.Arg(maxArgs))
	}
	return nil
}

// newFlagSet is the flag set of a command; -h prints its flags on stderr
// (through parse), parse errors are reported by parse alone.
func newFlagSet(e *env, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet("logs "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	helps[fs] = func() {
		fmt.Fprintf(e.stderr, "Usage: logs %s %s\n\nFlags:\n", name, args)
		fs.SetOutput(e.stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// helps print the flags of a flag set (one run of Main at a time makes
// them; tests run the binary).
var helps = map[*flag.FlagSet]func(){}

func runVersion(_ context.Context, e *env, args []string) error {
	if err := parse(newFlagSet(e, "version", ""), args, 0); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, versionString())
	return nil
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return v
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
