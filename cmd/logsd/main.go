// Command logsd serves the Logs API.
//
//	logsd [flags] [serve]        serve (the default command)
//	logsd [flags] demo           serve, with sample events in tenant demo
//	logsd [flags] migrate        create or upgrade the database schema
//	logsd [flags] retention      purge old entries once (as the schema owner)
//	logsd [flags] token --tenant T --permissions log:read,log:write [--ttl 1h]
//	logsd [flags] verify --tenant T [--key VERIFIERKEY]   exit 3 when the log does not verify
//	logsd version
//
// Every flag has an environment twin: --data-dir is LOGSD_DATA_DIR, and so
// on; a flag wins over its variable. With no configuration logsd keeps
// everything in ./logsd-data: a SQLite database, export files, and an HS256
// secret generated on first use (mode 0600) that logsd token signs with.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := NewMain(os.Args[0], os.Stdout, os.Stderr)
	if err := m.ParseArgs(os.Args[1:], os.LookupEnv); errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "logsd:", err)
		os.Exit(2)
	}
	err := m.Run(ctx)
	if err == nil {
		err = m.Wait(ctx)
	}
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "logsd:", err)
		if errors.Is(err, errVerifyFailed) {
			os.Exit(3)
		}
		os.Exit(1)
	}
}
