package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"ringbox/firmware/store"
	"ringbox/web"
)

// stdin is where `ringbox admin reset` reads the new password; tests drive
// the real binary through it.
var stdin io.Reader = os.Stdin

// cmdAdmin is `ringbox admin reset --login NAME`: from the box's console
// (a local shell, which is the proof of ownership), give a login the admin
// role and a new password, creating it if need be. It is how a box whose
// admin is lost is recovered: the first-boot page never comes back once an
// admin existed (docs/operator.md, "Recovering a lost admin").
func cmdAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	data := dataFlag(fs)
	login := fs.String("login", "", "the admin's login: an existing user becomes an admin with the new password, or a new admin is created")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "reset" {
		return usageError{errors.New("usage: ringbox admin reset --login NAME (the password is read from standard input)")}
	}
	if err := web.CheckLoginName(*login); err != nil {
		return usageError{fmt.Errorf("--login: %w", err)}
	}
	if _, err := os.Stat(filepath.Join(*data, "ringbox.db")); err != nil {
		return fmt.Errorf("no database in %s (--data): %w", *data, err)
	}
	pw, err := readNewPassword(stdin, stderr, *login)
	if err != nil {
		return err
	}
	if err := web.CheckAdminPassword(*login, pw); err != nil {
		return fmt.Errorf("password refused: %w", err)
	}
	st, err := store.Open(ctx, *data, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	created, err := st.ResetAdmin(ctx, *login, pw, "cli:admin-reset")
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "created admin %s in %s: sign in on the web page\n", *login, *data)
	} else {
		fmt.Fprintf(stdout, "%s in %s is an admin with the new password: sign in on the web page\n", *login, *data)
	}
	return nil
}

// readNewPassword reads the password: from a terminal twice, not echoed;
// otherwise the first line of in (for scripts: echo PW | ringbox admin ...).
func readNewPassword(in io.Reader, prompt io.Writer, login string) (string, error) {
	f, isFile := in.(*os.File)
	if isFile {
		if old, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			noEcho := *old
			noEcho.Lflag &^= unix.ECHO
			if err := unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, &noEcho); err == nil {
				defer unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, old)
			}
			r := bufio.NewReader(f)
			fmt.Fprintf(prompt, "New password for %s: ", login)
			a, err := readLine(r)
			fmt.Fprintln(prompt)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(prompt, "Again: ")
			b, err := readLine(r)
			fmt.Fprintln(prompt)
			if err != nil {
				return "", err
			}
			if a != b {
				return "", errors.New("the two passwords differ")
			}
			return a, nil
		}
	}
	return readLine(bufio.NewReader(in))
}

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
