package backup

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzInspect feeds Inspect arbitrary uploads: it must never panic, never
// write outside its staging directory, never leave a link behind, and
// leave nothing staged when it refuses.
func FuzzInspect(f *testing.F) {
	dir, st := newBox(f, "Fuzz")
	db := entry{name: "ringbox.db", body: "x"}
	f.Add(validArchive(f))
	f.Add([]byte("not a backup"))
	f.Add(gz(f, "plain text"))
	f.Add(archive(f, manifestEntry(f, 1, db), db))
	f.Add(archive(f, manifestEntry(f, 1, db), db, entry{name: "../../escape", body: "x"}))
	f.Add(archive(f, manifestEntry(f, 1, db), entry{name: "prompts/l", typ: tar.TypeSymlink, link: "/"}, db))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		stage := filepath.Join(parent, "s")
		_, err := Inspect(t.Context(), bytes.NewReader(data), stage, InspectOptions{DataDir: dir, Store: st})
		ents, _ := os.ReadDir(parent)
		if err != nil {
			if len(ents) != 0 {
				t.Errorf("refused (%v) but left %v in the staging parent", err, ents)
			}
			if strings.TrimSpace(err.Error()) == "" {
				t.Error("refusal without words")
			}
			return
		}
		if len(ents) != 1 || ents[0].Name() != "s" {
			t.Errorf("staging parent holds %v", ents)
		}
		filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type()&fs.ModeSymlink != 0 {
				t.Errorf("link staged: %s", p)
			}
			return nil
		})
	})
}
