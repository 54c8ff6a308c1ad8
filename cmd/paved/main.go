// Command paved is the pipeline half of the paved SDK: the same building
// blocks a service links, run on a binary in CI.
//
//	paved sbom BINARY         an SPDX 2.3 or CycloneDX 1.6 SBOM from the binary's build info
//	paved audit BINARY        known vulnerabilities, offline, against a local database
//	paved provenance BINARY   an in-toto Statement with a SLSA v1 provenance predicate
//
// Every command reads a binary's embedded Go build info; none needs the
// network. Exit status: 0 when all is well, 1 when `paved audit` finds
// vulnerabilities at or above --fail-on, 2 for a usage or input error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
)

// Exit statuses.
const (
	exitOK       = 0
	exitFindings = 1
	exitError    = 2
)

// A command is one subcommand. Later commands (vet, secrets, check) add
// themselves to commands in their own files.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) int
}

// env is what a command talks to, so that tests run it in-process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// commands is the registry, kept sorted by name in usage.
var commands []command

func register(c command) { commands = append(commands, c) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		if len(args) == 0 {
			return exitError
		}
		return exitOK
	}
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == args[0] })
	if i < 0 {
		fmt.Fprintf(e.stderr, "paved: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return exitError
	}
	return commands[i].run(ctx, e, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: paved COMMAND [flags] ARGS\n\ncommands:")
	cs := slices.Clone(commands)
	slices.SortFunc(cs, func(a, b command) int { return strings.Compare(a.name, b.name) })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'paved COMMAND -h' for a command's flags.")
}

// newFlags returns a flag set for a command that writes its errors to
// e.stderr and does not exit.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("paved "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: paved %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses args and wants exactly one positional argument (the
// binary). It returns the binary and an exit status (-1 to go on).
func parseArgs(e *env, fs *flag.FlagSet, args []string) (string, int) {
	// Flags may follow the binary too: parse, take one positional, parse on.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", exitOK
			}
			return "", exitError
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		fmt.Fprintf(e.stderr, "%s: want exactly one BINARY, got %d arguments\n", fs.Name(), len(pos))
		fs.Usage()
		return "", exitError
	}
	return pos[0], -1
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
