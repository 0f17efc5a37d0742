package tlscert

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// writePair replaces cert.pem and key.pem in dir as a unit. Two renames
// cannot be one atomic step, so the new pair is staged first:
//
//  1. key.pem.new, then cert.pem.new (through a temporary name), each
//     synced: cert.pem.new appearing is the commit point;
//  2. key.pem.new → key.pem, cert.pem.new → cert.pem.
//
// A power cut before the commit leaves the old pair (and strays that
// [recoverPair] removes); after it, recoverPair finishes step 2.
func writePair(dir string, certPEM, keyPEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	if err := writeSynced(filepath.Join(dir, "key.pem.new"), keyPEM, 0o600); err != nil {
		return err
	}
	if err := writeSynced(filepath.Join(dir, "cert.pem.tmp"), certPEM, 0o644); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(dir, "cert.pem.tmp"), filepath.Join(dir, "cert.pem.new")); err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	return recoverPair(dir)
}

// recoverPair finishes a replacement that was committed (cert.pem.new
// exists) and removes the strays of one that was not.
func recoverPair(dir string) error {
	newCert := filepath.Join(dir, "cert.pem.new")
	newKey := filepath.Join(dir, "key.pem.new")
	if _, err := os.Stat(newCert); err == nil {
		// key.pem.new is gone when the crash came between the renames.
		if _, err := os.Stat(newKey); err == nil {
			if err := os.Rename(newKey, filepath.Join(dir, "key.pem")); err != nil {
				return fmt.Errorf("tls certificate: %w", err)
			}
		}
		if err := os.Rename(newCert, filepath.Join(dir, "cert.pem")); err != nil {
			return fmt.Errorf("tls certificate: %w", err)
		}
		return syncDir(dir)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("tls certificate: %w", err)
	}
	for _, stray := range []string{newKey, filepath.Join(dir, "cert.pem.tmp")} {
		if err := os.Remove(stray); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("tls certificate: %w", err)
		}
	}
	return nil
}

func writeSynced(path string, b []byte, mode os.FileMode) error {
	os.Remove(path) // a stray from an earlier attempt may have another mode
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("tls certificate: write %s: %w", filepath.Base(path), err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("tls certificate: sync %s: %w", dir, err)
	}
	return nil
}
