package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// newBox makes a data directory with the demo site imported, a prompt,
// a hold-music track, a voicemail message and a recording, and returns it
// with its open store (closed at the end of the test).
func newBox(t testing.TB, name string) (string, *store.Store) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(t.Context(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	importSite(t, st, name)
	writeFile(t, dir, "prompts/welcome.wav", "welcome of "+name)
	writeFile(t, dir, "moh/default/track1.wav", "music of "+name)
	writeFile(t, dir, "voicemail/101/msg-1.wav", "message for 101")
	// A greeting recorded by phone: backed up with the messages, not
	// counted as one.
	writeFile(t, dir, "voicemail/101/greeting.wav", "greeting of 101")
	writeFile(t, dir, "recordings/2026-12-01/call-1.wav", "a recorded call")
	return dir, st
}

func importSite(t testing.TB, st *store.Store, name string) {
	t.Helper()
	b, err := os.ReadFile("../../docs/examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := site.Parse(b, "demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.System.Name = name
	if _, err := st.ImportSite(context.Background(), s, "test"); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, dir, rel, body string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// entry is one member of a hand-made archive.
type entry struct {
	name, body string
	typ        byte   // 0: regular file
	link       string // for links
}

// archive builds a .tar.gz of entries, as is.
func archive(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: 0o600, ModTime: time.Unix(0, 0)}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// manifestEntry is a manifest.json entry counting the given files.
func manifestEntry(t testing.TB, schema int, files ...entry) entry {
	t.Helper()
	m := Manifest{Format: Format, Firmware: "test", Schema: schema, Created: time.Unix(0, 0).UTC(), Site: "X", Files: len(files)}
	for _, f := range files {
		m.Bytes += int64(len(f.body))
	}
	b, _ := json.Marshal(m)
	return entry{name: ManifestName, body: string(b)}
}

// validArchive is a real backup of a fresh box, as bytes.
func validArchive(t testing.TB) []byte {
	t.Helper()
	dir, _ := newBox(t, "Seed")
	var buf bytes.Buffer
	if _, err := Write(t.Context(), &buf, Options{DataDir: dir, Firmware: "test"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write([]byte(s))
	w.Close()
	return buf.Bytes()
}

func gzipReader(b []byte) (*gzip.Reader, error) { return gzip.NewReader(bytes.NewReader(b)) }

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestMain keeps the store's and the package's logs out of the test
// output unless -v asks for them.
func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(discard())
	}
	os.Exit(m.Run())
}
