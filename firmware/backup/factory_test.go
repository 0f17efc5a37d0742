package backup

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEraseOnlyWhenMarked(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		"ringbox.db", "ringbox.db-wal", "ringbox.db-shm",
		"prompts/welcome.wav", "moh/default/a.wav", "voicemail/101/1.wav",
		"recordings/2026-12-04/x.wav", "restore-staging/abc/manifest.json",
		"restore-previous/ringbox.db", "boards/pbx-a.yaml", "something-else",
	}
	for _, f := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if done, err := ErasePending(dir, nil); done || err != nil {
		t.Fatalf("ErasePending without a request = %v, %v", done, err)
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("%s gone without a factory reset: %v", f, err)
		}
	}
	if err := RequestErase(dir); err != nil {
		t.Fatal(err)
	}
	if done, err := ErasePending(dir, nil); !done || err != nil {
		t.Fatalf("ErasePending = %v, %v; want erased", done, err)
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("after a factory reset the data directory still has %v", left)
	}
	// The next start finds nothing to do.
	if done, err := ErasePending(dir, nil); done || err != nil {
		t.Errorf("second ErasePending = %v, %v", done, err)
	}
}

func TestEraseRefusesRoot(t *testing.T) {
	for _, d := range []string{"", "/", "//"} {
		if err := Erase(d); err == nil {
			t.Errorf("Erase(%q) succeeded", d)
		}
	}
}
