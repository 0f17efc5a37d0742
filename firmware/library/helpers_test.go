package library

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"ringbox/audio/wav"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// toneWAV is a WAV file of a sine at hz.
func toneWAV(rate, hz int, d time.Duration) []byte { return toneWAVAmp(rate, hz, d, 12000) }

// toneWAVAmp is a WAV file of a sine at hz of amplitude amp.
func toneWAVAmp(rate, hz int, d time.Duration, amp float64) []byte {
	n := int(int64(rate) * int64(d) / int64(time.Second))
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(amp * math.Sin(2*math.Pi*float64(hz)*float64(i)/float64(rate)))
	}
	var b bytes.Buffer
	if err := wav.Write(&b, rate, 1, pcm); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func writeFile(t *testing.T, dir, rel string, b []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// newStore opens a real store in a new data directory.
func newStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(t.Context(), dir, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, dir
}

func parse(t *testing.T, y string) *site.Site {
	t.Helper()
	s, err := site.Parse([]byte(y), "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func exported(t *testing.T, st Store) *site.Site {
	t.Helper()
	s, err := st.ExportSite(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tree lists the files under dir other than the database, with their
// sizes and times.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), "ringbox.db") {
			return err
		}
		fi, _ := d.Info()
		rel, _ := filepath.Rel(dir, p)
		lines = append(lines, fmt.Sprintf("%s %d %d", filepath.ToSlash(rel), fi.Size(), fi.ModTime().UnixNano()))
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// failingStore fails every import, as a full disk would.
type failingStore struct{ *store.Store }

func (failingStore) ImportSite(context.Context, *site.Site, string) (store.Change, error) {
	return store.Change{}, fmt.Errorf("disk full")
}
func (failingStore) ImportSiteWith(context.Context, *site.Site, string, store.ImportOptions) (store.Change, error) {
	return store.Change{}, fmt.Errorf("disk full")
}

// nopStore keeps an empty site and accepts every import.
type nopStore struct{}

func (nopStore) ExportSite(context.Context) (*site.Site, error) { return &site.Site{Version: 1}, nil }
func (nopStore) ImportSite(context.Context, *site.Site, string) (store.Change, error) {
	return store.Change{}, nil
}
func (nopStore) ImportSiteWith(context.Context, *site.Site, string, store.ImportOptions) (store.Change, error) {
	return store.Change{}, nil
}
func (nopStore) InsertAudit(context.Context, store.AuditEntry) error { return nil }
