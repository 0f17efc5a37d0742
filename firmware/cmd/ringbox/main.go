// Command ringbox is the firmware of the Ringbox PBX appliance: one binary
// with subcommands. Only this package imports everything; it parses flags,
// wires the subsystems together and owns their lifecycle.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `ringbox: the Ringbox PBX appliance

usage:
  ringbox serve  [--data DIR] [--sip ADDR] [--http ADDR] [--https ADDR] [--board sim] [--site FILE]
  ringbox check  FILE
  ringbox import FILE [--replace-users] [--data DIR]
  ringbox export [--with-secrets] [--data DIR] [-o FILE]
  ringbox token create NAME --role admin|manager|agent [--data DIR]
  ringbox admin reset --login NAME [--data DIR]   (password on standard input)
  ringbox update status|install [--force] BUNDLE|mark-good
  ringbox health [--data DIR] [--sip ADDR] [--http URL]
  ringbox version

Flags may stand before or after the other arguments. "ringbox CMD --help"
lists a command's flags.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	// Subcommands other than serve only log problems; serve sets its own.
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr)
	case "check":
		err = cmdCheck(args[1:], stdout, stderr)
	case "import":
		err = cmdImport(ctx, args[1:], stdout, stderr)
	case "export":
		err = cmdExport(ctx, args[1:], stdout, stderr)
	case "token":
		err = cmdToken(ctx, args[1:], stdout, stderr)
	case "admin":
		err = cmdAdmin(ctx, args[1:], stdout, stderr)
	case "update":
		err = cmdUpdate(ctx, args[1:], stdout, stderr)
	case "health":
		err = cmdHealth(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		if len(args) > 1 && isHelpArg(args[1]) {
			printHelp(stdout, "version", flag.NewFlagSet("version", flag.ContinueOnError))
			return 0
		}
		fmt.Fprintln(stdout, versionString())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "ringbox: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "ringbox %s: %v\n(ringbox %s --help lists its flags)\n", args[0], ue.error, args[0])
		return 2
	}
	var he helpError
	if errors.As(err, &he) {
		printHelp(stdout, args[0], he.fs)
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "ringbox %s: %v\n", args[0], err)
	return 1
}

// usageError is a mistake in the command line (exit 2).
type usageError struct{ error }

// exitError ends the command with a code after it printed its own report.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// helpError asks for a command's help (-h, -help, --help): run prints the
// command's usage line and every flag of fs to stdout and exits 0.
type helpError struct{ fs *flag.FlagSet }

func (helpError) Error() string { return flag.ErrHelp.Error() }
func (helpError) Unwrap() error { return flag.ErrHelp }
func isHelpArg(a string) bool   { return a == "-h" || a == "-help" || a == "--help" }

// commandUsage is cmd's line of the usage text, so that the synopsis is
// written once.
func commandUsage(cmd string) string {
	for _, l := range strings.Split(usage, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l == "ringbox "+cmd || strings.HasPrefix(l, "ringbox "+cmd+" ") {
			return l
		}
	}
	return "ringbox " + cmd
}

// printHelp writes cmd's usage line from the usage text and every flag of
// fs with its meaning and default, the way the docs spell flags (--name,
// -o).
func printHelp(w io.Writer, cmd string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s\n", commandUsage(cmd))
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if n == 0 {
			fmt.Fprintf(w, "\nflags:\n")
		}
		n++
		arg, meaning := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if len(f.Name) == 1 {
			line = "  -" + f.Name
		}
		if arg != "" {
			line += " " + arg
		}
		fmt.Fprintf(w, "%s\n        %s", line, meaning)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
	if n == 0 {
		fmt.Fprintf(w, "\n%s has no flags.\n", cmd)
	}
}

// parse parses flags wherever they stand among the positional arguments
// and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, helpError{fs}
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		v += " " + info.GoVersion
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
	}
	return "ringbox " + v
}

// newLogger builds the process logger from --log-level and --log-format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format %q: want text or json", format)}
}
