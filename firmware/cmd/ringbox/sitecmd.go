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

	"ringbox/firmware/dialplan"
	"ringbox/firmware/library"
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

// readSiteFile reads and parses a site file; problems come back as
// site.Errors, one per line with file and line number. The File is
// non-nil, though partial, when only the configuration is wrong (see
// site.ParseFile).
func readSiteFile(name string) (*site.File, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read site file: %w", err)
	}
	return site.ParseFile(data, name)
}

// siteAudio opens the audio files a site file names: they are relative to
// the site file.
func siteAudio(name string) library.Opener {
	return library.DirOpener(filepath.Dir(name))
}

// printProblems prints every problem, one a line, then how many there are
// and what came of it.
func printProblems(w io.Writer, file string, probs site.Errors, outcome string) {
	fmt.Fprint(w, probs.Error())
	n := "1 problem"
	if len(probs) != 1 {
		n = fmt.Sprintf("%d problems", len(probs))
	}
	fmt.Fprintf(w, "\n%s: %s%s\n", file, n, outcome)
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
	f, err := readSiteFile(pos[0])
	var probs site.Errors
	if err != nil && !errors.As(err, &probs) {
		return err
	}
	// The audio is checked even when the rest has problems, so that the
	// installer hears of every mistake at once.
	audio := 0
	if f != nil {
		probs = f.Locate(append(probs, library.CheckAudio(f.Site, siteAudio(pos[0]))...))
		audio = countAudio(f.Site)
	}
	if len(probs) > 0 {
		printProblems(stderr, pos[0], probs, "")
		return exitError{1}
	}
	s := f.Site
	// Warnings do not fail the check: the site works, but not as the
	// installer may think (a route that refuses some of what it matches).
	for _, w := range f.Locate(dialplan.Warnings(s)) {
		fmt.Fprintf(stderr, "warning: %s\n", w.Error())
	}
	fmt.Fprintf(stdout, "%s: ok (%d extensions, %d agents, %d queues, %d ring groups, %d IVRs, %d audio files)\n",
		pos[0], len(s.Extensions), len(s.Agents), len(s.Queues), len(s.RingGroups), len(s.IVRs), audio)
	return nil
}

// countAudio counts the audio files s names.
func countAudio(s *site.Site) int {
	n := len(s.Prompts)
	for _, h := range s.HoldMusic {
		n += len(h.Files)
	}
	return n
}

// importSiteFile imports f, a site file read by readSiteFile, with the
// audio it names, through lib. Problems with the audio come back as
// site.Errors with their lines. Stored users the file does not list are
// kept unless o.ReplaceUsers.
func importSiteFile(ctx context.Context, lib *library.Library, f *site.File, actor string, o store.ImportOptions) (store.Change, error) {
	ch, err := lib.ImportSiteWith(ctx, f.Site, siteAudio(f.Name), actor, o)
	var probs site.Errors
	if errors.As(err, &probs) {
		return store.Change{}, f.Locate(probs)
	}
	return ch, err
}

func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	data := dataFlag(fs)
	replace := fs.Bool("replace-users", false, "make the web users exactly the file's: remove stored users it does not list (without it they are kept); an import that removes every admin is refused either way")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("want exactly one site file: ringbox import FILE")}
	}
	f, err := readSiteFile(pos[0])
	if err != nil {
		var probs site.Errors
		if errors.As(err, &probs) {
			if f != nil { // say what is wrong with the audio too
				probs = f.Locate(append(probs, library.CheckAudio(f.Site, siteAudio(pos[0]))...))
			}
			printProblems(stderr, pos[0], probs, ": not imported, nothing changed")
			return exitError{1}
		}
		return err
	}
	st, err := store.Open(ctx, *data, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	lib := library.New(library.Config{DataDir: *data, Store: st})
	ch, err := importSiteFile(ctx, lib, f, "cli:import", store.ImportOptions{ReplaceUsers: *replace})
	var probs site.Errors
	if errors.As(err, &probs) {
		printProblems(stderr, pos[0], probs, ": not imported, nothing changed")
		return exitError{1}
	}
	var last *store.LastAdminError
	var kept *store.KeptUserError
	switch {
	case errors.As(err, &last):
		fmt.Fprintf(stderr, "ringbox import: %s: not imported: %v\n", pos[0], last)
		return exitError{1}
	case errors.As(err, &kept):
		fmt.Fprintf(stderr, "ringbox import: %s: not imported: %v (--replace-users)\n", pos[0], kept)
		return exitError{1}
	case err != nil:
		return fmt.Errorf("import %s: %w (nothing changed)", pos[0], err)
	}
	fmt.Fprintf(stdout, "imported %s into %s: %s\n", pos[0], *data, describeChange(ch))
	if len(ch.KeptUsers) > 0 {
		fmt.Fprintf(stdout, "kept web users not in the file: %s (--replace-users removes them)\n", strings.Join(ch.KeptUsers, ", "))
	}
	return nil
}

func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	data := dataFlag(fs)
	secrets := fs.Bool("with-secrets", false, "include SIP secrets, trunk passwords and PINs")
	out := fs.String("o", "", "write the site to FILE and the audio it names next to it, instead of the site to standard output")
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
		if n := countAudio(s); n > 0 {
			fmt.Fprintf(stderr, "ringbox export: the site names %d audio files, which are not written to standard output: export with -o DIR/site.yaml to write them next to the site file\n", n)
		}
		_, err = stdout.Write(b)
		return err
	}
	// The audio first: a site file that names files not yet written would
	// not import.
	probs, err := library.ExportAudio(*data, s, filepath.Dir(*out))
	for _, p := range probs {
		fmt.Fprintf(stderr, "ringbox export: warning: %v\n", p)
	}
	if err != nil {
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
