package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

const defaultDataDir = "/data/ringbox"

func dataFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("RINGBOX_DATA")
	if def == "" {
		def = defaultDataDir
	}
	return fs.String("data", def, "data directory (database, audio); env RINGBOX_DATA")
}

// loadSiteFile reads and validates a site file; problems come back as
// site.Errors, one per line with file and line number.
func loadSiteFile(name string) (*site.Site, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read site file: %w", err)
	}
	return site.Parse(data, name)
}

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("want exactly one site file: ringbox check FILE")}
	}
	s, err := loadSiteFile(pos[0])
	var probs site.Errors
	if errors.As(err, &probs) {
		fmt.Fprint(stderr, probs.Error())
		if len(probs) == 1 {
			fmt.Fprintf(stderr, "\n%s: 1 problem\n", pos[0])
		} else {
			fmt.Fprintf(stderr, "\n%s: %d problems\n", pos[0], len(probs))
		}
		return exitError{1}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d extensions, %d agents, %d queues, %d ring groups, %d IVRs)\n",
		pos[0], len(s.Extensions), len(s.Agents), len(s.Queues), len(s.RingGroups), len(s.IVRs))
	return nil
}

func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	data := dataFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("want exactly one site file: ringbox import FILE")}
	}
	s, err := loadSiteFile(pos[0])
	var probs site.Errors
	if errors.As(err, &probs) {
		fmt.Fprint(stderr, probs.Error())
		fmt.Fprintf(stderr, "\n%s: not imported, nothing changed\n", pos[0])
		return exitError{1}
	}
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, *data, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	ch, err := st.ImportSite(ctx, s, "cli:import")
	if err != nil {
		return fmt.Errorf("import %s: %w (nothing changed)", pos[0], err)
	}
	fmt.Fprintf(stdout, "imported %s into %s: %s\n", pos[0], *data, describeChange(ch))
	return nil
}

func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	data := dataFlag(fs)
	secrets := fs.Bool("with-secrets", false, "include SIP secrets, trunk passwords and PINs")
	out := fs.String("o", "", "write to FILE instead of standard output")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	if _, err := os.Stat(filepath.Join(*data, "ringbox.db")); err != nil {
		return fmt.Errorf("no database in %s: %w", *data, err)
	}
	st, err := store.Open(ctx, *data, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := st.ExportSite(ctx)
	if err != nil {
		return err
	}
	b, err := site.Marshal(s, *secrets)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(b)
		return err
	}
	// Write beside and rename, so a crash never leaves half a file.
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	return os.Rename(tmp, *out)
}

func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	data := dataFlag(fs)
	role := fs.String("role", "", "admin, manager or agent")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "create" {
		return usageError{errors.New("usage: ringbox token create NAME --role ROLE")}
	}
	if *role == "" {
		return usageError{errors.New("--role is required (admin, manager or agent)")}
	}
	st, err := store.Open(ctx, *data, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	tok, err := st.CreateToken(ctx, pos[1], *role)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	fmt.Fprintf(stderr, "token %q (role %s) created; it is shown only this once: use it as \"Authorization: Bearer TOKEN\"\n", pos[1], *role)
	return nil
}

// describeChange says what an import changed, in one line.
func describeChange(ch store.Change) string {
	if ch.Empty() {
		return "no changes"
	}
	var parts []string
	for _, k := range ch.Kinds {
		for _, p := range []struct {
			verb string
			ids  []string
		}{{"added", k.Added}, {"removed", k.Removed}, {"changed", k.Changed}} {
			if len(p.ids) > 0 {
				parts = append(parts, fmt.Sprintf("%s %s %s", p.verb, k.Kind, strings.Join(p.ids, ",")))
			}
		}
	}
	return fmt.Sprintf("version %d: %s", ch.Version, strings.Join(parts, "; "))
}
