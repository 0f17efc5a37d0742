package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/cdr"
	"ringbox/firmware/store"
)

func TestBackupWhileCallsEndIsConsistent(t *testing.T) {
	dir, st := newBox(t, "Acme Dental")
	ctx := t.Context()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var inserted int
	wg.Go(func() {
		start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			r := cdr.Record{CallID: fmt.Sprintf("call-%d", i), Caller: "101", Callee: "102", Direction: "internal",
				Start: start, End: start.Add(time.Minute), Cause: "normal", HangupBy: "caller",
				Legs: []cdr.Leg{{ID: "a", Target: "ext:102", Start: start, End: start.Add(time.Minute), Cause: "normal"}, {ID: "b", Target: "ext:103", Start: start, End: start.Add(time.Minute), Cause: "normal"}}}
			if err := st.InsertCDR(ctx, r); err != nil {
				t.Error(err)
				return
			}
			inserted++
		}
	})
	time.Sleep(50 * time.Millisecond) // some rows before the snapshot
	var buf bytes.Buffer
	m, err := Write(ctx, &buf, Options{DataDir: dir, Firmware: "1.2.3", Now: func() time.Time { return time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC) }})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Write while inserting: %v", err)
	}
	want := Manifest{Format: 1, Firmware: "1.2.3", Schema: store.SchemaVersion(), Created: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC),
		Site: "Acme Dental", Recordings: false, Files: 5, Bytes: m.Bytes} // the database, a prompt, a track, a message, a greeting
	if m != want {
		t.Errorf("manifest = %+v, want %+v", m, want)
	}
	// No temporary snapshot is left in the data directory.
	if left, _ := filepath.Glob(filepath.Join(dir, ".backup-*")); len(left) != 0 {
		t.Errorf("snapshot files left behind: %v", left)
	}

	stage := filepath.Join(t.TempDir(), "stage")
	p, err := Inspect(ctx, &buf, stage, InspectOptions{DataDir: dir, Store: st, Firmware: "1.2.3"})
	if err != nil {
		t.Fatalf("Inspect of a backup taken under load: %v", err)
	}
	if p.Backup.CDRs == 0 || p.Backup.CDRs > int64(inserted) {
		t.Errorf("backup holds %d call records; %d were inserted, some before the backup", p.Backup.CDRs, inserted)
	}
	db, err := openRaw(filepath.Join(stage, "ringbox.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("integrity_check of the backup's database = %q, %v", ok, err)
	}
	// Every call record has both its legs: a snapshot taken between the
	// record and its legs would show a record with fewer.
	var partial int
	db.QueryRow("SELECT count(*) FROM cdr c WHERE (SELECT count(*) FROM cdr_legs l WHERE l.cdr_id = c.id) != 2").Scan(&partial)
	if partial != 0 {
		t.Errorf("%d call records without both their legs", partial)
	}
	if p.Backup.Site != "Acme Dental" || p.Backup.Extensions != 5 || p.Backup.AudioFiles != 2 || p.Backup.VoicemailMessages != 1 || p.Backup.Recordings != 0 {
		t.Errorf("plan backup = %+v", p.Backup)
	}
}

func TestBackupIncludesRecordingsOnlyWhenAsked(t *testing.T) {
	dir, _ := newBox(t, "Acme")
	for _, rec := range []bool{false, true} {
		var buf bytes.Buffer
		m, err := Write(t.Context(), &buf, Options{DataDir: dir, Recordings: rec})
		if err != nil {
			t.Fatal(err)
		}
		names := tarNames(t, buf.Bytes())
		has := strings.Contains(strings.Join(names, " "), "recordings/2026-12-01/call-1.wav")
		if has != rec || m.Recordings != rec {
			t.Errorf("Recordings=%v: archive %v, manifest.Recordings=%v", rec, names, m.Recordings)
		}
		if names[0] != ManifestName || names[1] != "ringbox.db" {
			t.Errorf("archive starts %v, want manifest.json then ringbox.db", names[:2])
		}
	}
}

func tarNames(t *testing.T, b []byte) []string {
	t.Helper()
	gz, err := gzipReader(b)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	return names
}

func TestRestoreBringsBackTheOldSiteAndAudio(t *testing.T) {
	dir, st := newBox(t, "Acme Dental")
	ctx := t.Context()
	var buf bytes.Buffer
	if _, err := Write(ctx, &buf, Options{DataDir: dir, Firmware: "1.0"}); err != nil {
		t.Fatal(err)
	}
	// The box changes after the backup.
	importSite(t, st, "Changed Site")
	writeFile(t, dir, "prompts/welcome.wav", "a new welcome")
	writeFile(t, dir, "prompts/extra.wav", "added later")
	writeFile(t, dir, "recordings/2026-12-02/call-2.wav", "recorded after")

	sg := &Staging{Options: InspectOptions{DataDir: dir, Store: st, Firmware: "1.0"}}
	p, err := sg.Inspect(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.Backup.Site != "Acme Dental" || p.Current.Site != "Changed Site" || !p.KeepsRecordings {
		t.Errorf("plan = %+v", p)
	}
	if p.Current.AudioFiles != 3 || p.Backup.AudioFiles != 2 || p.Current.Recordings != 2 {
		t.Errorf("plan counts: current %+v, backup %+v", p.Current, p.Backup)
	}
	if _, err := sg.Apply(p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sg.Apply(p.ID); !errors.Is(err, ErrUnknownStaging) {
		t.Errorf("second Apply = %v, want ErrUnknownStaging", err)
	}
	st.Close() // the box shuts down before the restart

	applied, err := ApplyPending(dir, nil)
	if err != nil || !applied {
		t.Fatalf("ApplyPending = %v, %v", applied, err)
	}
	st2, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	s, err := st2.ExportSite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.System.Name != "Acme Dental" {
		t.Errorf("restored site %q, want Acme Dental", s.System.Name)
	}
	if got := readFile(t, dir, "prompts/welcome.wav"); got != "welcome of Acme Dental" {
		t.Errorf("restored prompt %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "prompts/extra.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a prompt added after the backup survived the restore: %v", err)
	}
	if got := readFile(t, dir, "recordings/2026-12-02/call-2.wav"); got != "recorded after" {
		t.Errorf("recordings not in the backup were not kept: %q", got)
	}
	// What was replaced is kept for one restore.
	if got := readFile(t, dir, "restore-previous/prompts/extra.wav"); got != "added later" {
		t.Errorf("restore-previous lacks the replaced prompt: %q", got)
	}
	for _, d := range []string{PendingDir, StagingDir, partialDir, FailedDir} {
		if _, err := os.Stat(filepath.Join(dir, d)); err == nil {
			t.Errorf("%s left behind after a restore", d)
		}
	}
	// Nothing pending: a second start does nothing.
	if applied, err := ApplyPending(dir, nil); applied || err != nil {
		t.Errorf("second ApplyPending = %v, %v", applied, err)
	}
}

func TestInspectRefusesNewerSchema(t *testing.T) {
	dir, st := newBox(t, "Acme")
	newer := store.SchemaVersion() + 1
	db := entry{name: "ringbox.db", body: "x"}
	b := archive(t, manifestEntry(t, newer, db), db)
	stage := filepath.Join(t.TempDir(), "s")
	_, err := Inspect(t.Context(), bytes.NewReader(b), stage, InspectOptions{DataDir: dir, Store: st, Firmware: "2.0"})
	want := fmt.Sprintf("this backup was made by firmware test (schema %d); this box runs 2.0 (schema %d): update the firmware first", newer, newer-1)
	if !errors.Is(err, ErrNewerFirmware) || err.Error() != want {
		t.Errorf("Inspect of a newer backup = %v\nwant %s", err, want)
	}
	if _, err := os.Stat(stage); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging directory left after a refusal")
	}
}

func TestInspectRefusesWhatIsNotABackup(t *testing.T) {
	dir, st := newBox(t, "Acme")
	db := entry{name: "ringbox.db", body: "x"}
	m := manifestEntry(t, 1, db)
	with := func(extra entry) []byte {
		return archive(t, manifestEntry(t, 1, db, extra), db, extra)
	}
	tests := []struct {
		name string
		data []byte
		kind error
		msg  string
	}{
		{"garbage", []byte("PK\x03\x04 this is a zip file"), ErrNotBackup, "not gzip-compressed"},
		{"empty", nil, ErrNotBackup, "not gzip-compressed"},
		{"gzip of text", gz(t, "hello"), ErrNotBackup, "not a tar archive"},
		{"no manifest first", archive(t, db, m), ErrNotBackup, `starts with "ringbox.db", not manifest.json`},
		{"manifest not json", archive(t, entry{name: ManifestName, body: "{"}, db), ErrNotBackup, "manifest.json does not describe one"},
		{"traversal", with(entry{name: "prompts/../../etc/passwd", body: "x"}), ErrNotBackup, `"prompts/../../etc/passwd" is absolute or leaves the archive`},
		{"dot dot", with(entry{name: "../x", body: "x"}), ErrNotBackup, "leaves the archive"},
		{"absolute", with(entry{name: "/etc/passwd", body: "x"}), ErrNotBackup, `"/etc/passwd" is absolute`},
		{"symlink", with(entry{name: "prompts/a.wav", typ: tar.TypeSymlink, link: "/etc/shadow"}), ErrNotBackup, `"prompts/a.wav" is a link`},
		{"hard link", with(entry{name: "prompts/a.wav", typ: tar.TypeLink, link: "ringbox.db"}), ErrNotBackup, "is a link"},
		{"device", with(entry{name: "prompts/a", typ: tar.TypeChar}), ErrNotBackup, "not a plain file"},
		{"unknown top level", with(entry{name: "etc/passwd", body: "x"}), ErrNotBackup, `unknown entry "etc"`},
		{"hidden file", with(entry{name: "prompts/.x", body: "x"}), ErrNotBackup, "not one a backup has"},
		{"twice", archive(t, manifestEntry(t, 1, db, db), db, db), ErrNotBackup, `"ringbox.db" is in it twice`},
		{"file then folder", archive(t, manifestEntry(t, 1, db, entry{name: "prompts/a", body: "1"}, entry{name: "prompts/a/b", body: "2"}), db, entry{name: "prompts/a", body: "1"}, entry{name: "prompts/a/b", body: "2"}), ErrNotBackup, `"prompts/a/b" clashes`},
		{"folder then file", archive(t, manifestEntry(t, 1, db, entry{name: "prompts/a/b", body: "2"}, entry{name: "prompts/a", body: "1"}), db, entry{name: "prompts/a/b", body: "2"}, entry{name: "prompts/a", body: "1"}), ErrNotBackup, `"prompts/a" clashes`},
		{"no database", archive(t, manifestEntry(t, 1)), ErrNotBackup, "has no ringbox.db"},
		{"missing file", archive(t, manifestEntry(t, 1, db, entry{body: "xx"}), db), ErrNotBackup, "manifest lists 2 files"},
		{"database not sqlite", archive(t, m, db), ErrNotBackup, "ringbox.db is not a Ringbox database"},
		{"truncated", validArchive(t)[:2000], ErrNotBackup, "damaged or truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stage := filepath.Join(t.TempDir(), "s")
			_, err := Inspect(t.Context(), bytes.NewReader(tt.data), stage, InspectOptions{DataDir: dir, Store: st})
			if !errors.Is(err, tt.kind) || !strings.Contains(fmt.Sprint(err), tt.msg) {
				t.Errorf("Inspect = %v, want %v saying %q", err, tt.kind, tt.msg)
			}
			if _, err := os.Stat(stage); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("staging directory left after a refusal")
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(stage), "etc")); err == nil {
				t.Errorf("a file was written outside the staging directory")
			}
		})
	}
}

func TestApplyPendingFailurePutsThePreviousBack(t *testing.T) {
	dir, st := newBox(t, "Backed Up")
	ctx := t.Context()
	var buf bytes.Buffer
	if _, err := Write(ctx, &buf, Options{DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	importSite(t, st, "Current")
	writeFile(t, dir, "prompts/welcome.wav", "current welcome")
	sg := &Staging{Options: InspectOptions{DataDir: dir, Store: st}}
	p, err := sg.Inspect(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sg.Apply(p.ID); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// The disk fails as the backup's voicemail is moved in: the database and
	// the prompts are already the backup's.
	rename = func(from, to string) error {
		if strings.Contains(from, PendingDir) && filepath.Base(from) == "voicemail" {
			return errors.New("input/output error")
		}
		return os.Rename(from, to)
	}
	t.Cleanup(func() { rename = os.Rename })
	applied, err := ApplyPending(dir, nil)
	if applied || err == nil || !strings.Contains(err.Error(), "input/output error") || !strings.Contains(err.Error(), "previous data is back") {
		t.Fatalf("ApplyPending = %v, %v; want the failure and the roll back", applied, err)
	}
	st2, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if s, _ := st2.ExportSite(ctx); s == nil || s.System.Name != "Current" {
		t.Errorf("after a failed restore the site is %v, want Current", s)
	}
	if got := readFile(t, dir, "prompts/welcome.wav"); got != "current welcome" {
		t.Errorf("after a failed restore the prompt is %q", got)
	}
	if got := readFile(t, dir, "voicemail/101/msg-1.wav"); got != "message for 101" {
		t.Errorf("voicemail after a failed restore: %q", got)
	}
	if got := readFile(t, dir, "voicemail/101/greeting.wav"); got != "greeting of 101" {
		t.Errorf("greeting after a failed restore: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, FailedDir, ManifestName)); err != nil {
		t.Errorf("the failed backup is not kept in %s: %v", FailedDir, err)
	}
	for _, d := range []string{PendingDir, partialDir} {
		if _, err := os.Stat(filepath.Join(dir, d)); err == nil {
			t.Errorf("%s left after a failed restore: the next start would retry it", d)
		}
	}
}

func TestApplyPendingRollsBackAnInterruptedRestore(t *testing.T) {
	dir, st := newBox(t, "Backed Up")
	ctx := t.Context()
	var buf bytes.Buffer
	if _, err := Write(ctx, &buf, Options{DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	importSite(t, st, "Current")
	sg := &Staging{Options: InspectOptions{DataDir: dir, Store: st}}
	p, err := sg.Inspect(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	sg.Apply(p.ID)
	st.Close()
	// Power is cut after the database was moved in: swap stops, nothing
	// rolls back in this process.
	partial := filepath.Join(dir, partialDir)
	os.Mkdir(partial, 0o700)
	rename = func(from, to string) error {
		if strings.Contains(from, PendingDir) && filepath.Base(from) == "prompts" {
			return errors.New("power cut")
		}
		return os.Rename(from, to)
	}
	err = swap(dir, filepath.Join(dir, PendingDir), partial, []string{"ringbox.db", "prompts", "moh", "voicemail"}, discard())
	rename = os.Rename
	if err == nil {
		t.Fatal("swap did not stop")
	}

	applied, err := ApplyPending(dir, nil)
	if applied || err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("ApplyPending after a power cut = %v, %v", applied, err)
	}
	st2, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if s, _ := st2.ExportSite(ctx); s == nil || s.System.Name != "Current" {
		t.Errorf("after an interrupted restore the site is %v, want Current", s)
	}
	if got := readFile(t, dir, "prompts/welcome.wav"); got != "welcome of Backed Up" {
		// The box's own prompts were set aside, then put back.
		t.Errorf("prompt after roll back %q", got)
	}
}

func TestStagedUploadExpires(t *testing.T) {
	b := validArchive(t)
	dir, _ := newBox(t, "Acme")
	synctest.Test(t, func(t *testing.T) {
		sg := &Staging{Options: InspectOptions{DataDir: dir}}
		p, err := sg.Inspect(context.Background(), bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Now().Add(30 * time.Minute).UTC(); !p.Expires.Equal(want) {
			t.Errorf("expires %v, want %v", p.Expires, want)
		}
		time.Sleep(29 * time.Minute)
		synctest.Wait()
		if _, err := os.Stat(filepath.Join(dir, StagingDir, p.ID)); err != nil {
			t.Errorf("upload gone before 30 minutes: %v", err)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if _, err := os.Stat(filepath.Join(dir, StagingDir, p.ID)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("upload still staged after 31 minutes: %v", err)
		}
		if _, err := sg.Apply(p.ID); !errors.Is(err, ErrUnknownStaging) {
			t.Errorf("Apply after expiry = %v, want ErrUnknownStaging", err)
		}
	})
}

func TestNextInspectDropsTheEarlierUpload(t *testing.T) {
	b := validArchive(t)
	dir, st := newBox(t, "Acme")
	sg := &Staging{Options: InspectOptions{DataDir: dir, Store: st}}
	p1, err := sg.Inspect(t.Context(), bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sg.Inspect(t.Context(), bytes.NewReader([]byte("garbage"))); !errors.Is(err, ErrNotBackup) {
		t.Fatalf("Inspect of garbage = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, StagingDir, p1.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("first upload still staged after a second inspect")
	}
	if _, err := sg.Apply(p1.ID); !errors.Is(err, ErrUnknownStaging) {
		t.Errorf("Apply of the dropped upload = %v", err)
	}
}

func TestFileName(t *testing.T) {
	at := time.Date(2026, 12, 4, 17, 5, 9, 0, time.UTC)
	tests := []struct{ site, want string }{
		{"Acme Dental", "ringbox-backup-acme-dental-20261204-170509.tar.gz"},
		{"../../etc", "ringbox-backup-etc-20261204-170509.tar.gz"},
		{"", "ringbox-backup-box-20261204-170509.tar.gz"},
		{`Quote" Inc.`, "ringbox-backup-quote-inc-20261204-170509.tar.gz"},
	}
	for _, tt := range tests {
		if got := FileName(tt.site, at); got != tt.want {
			t.Errorf("FileName(%q) = %q, want %q", tt.site, got, tt.want)
		}
	}
}

// TestBackupAndInspectStreamFiles checks a big voicemail goes through
// Write and Inspect without being held in memory: the box has 512 MB.
func TestBackupAndInspectStreamFiles(t *testing.T) {
	dir, st := newBox(t, "Big")
	const size = 64 << 20
	f, err := os.Create(filepath.Join(dir, "voicemail", "101", "long.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	archivePath := filepath.Join(t.TempDir(), "b.tar.gz")
	out, err := os.Create(archivePath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	alloc := allocated(func() {
		if _, err := Write(t.Context(), out, Options{DataDir: dir}); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("Write allocated %d KiB", alloc>>10)
	if alloc > size/16 {
		t.Errorf("Write of a %d MiB file allocated %d MiB", size>>20, alloc>>20)
	}
	out.Seek(0, 0)
	alloc = allocated(func() {
		p, err := Inspect(t.Context(), out, filepath.Join(t.TempDir(), "s"), InspectOptions{DataDir: dir, Store: st})
		if err != nil || p.Backup.VoicemailMessages != 2 {
			t.Fatalf("Inspect = %+v, %v", p.Backup, err)
		}
	})
	t.Logf("Inspect allocated %d KiB", alloc>>10)
	if alloc > size/16 {
		t.Errorf("Inspect of a %d MiB file allocated %d MiB", size>>20, alloc>>20)
	}
}

func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
