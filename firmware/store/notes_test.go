package store

import (
	"errors"
	"strings"
	"testing"
)

func TestNotesInCallerHistory(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	for i := range 3 {
		r := sampleCDR(i)
		if i == 0 {
			r.Agent, r.AnsweredBy = "bob", "agent:bob/ext:101"
		}
		if err := s.InsertCDR(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	other := sampleCDR(5)
	other.Caller = "+15559999999"
	if err := s.InsertCDR(ctx, other); err != nil {
		t.Fatal(err)
	}
	first, err := s.InsertNote(ctx, Note{CallID: "call-0", Caller: "+15550001001", Author: "bob", Agent: "bob", Text: "  wants a call back about invoice 42 \n"})
	if err != nil {
		t.Fatal(err)
	}
	if first.Text != "wants a call back about invoice 42" || first.ID == 0 || first.Time.IsZero() {
		t.Errorf("stored note %+v, want trimmed text, an id and a time", first)
	}
	if _, err := s.InsertNote(ctx, Note{CallID: "call-0", Caller: "+15550001001", Author: "sue", Text: "called back, done"}); err != nil {
		t.Fatal(err)
	}

	h, err := s.CallerHistory(ctx, "+15550001001", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 || h[0].CallID != "call-2" || h[2].CallID != "call-0" {
		t.Fatalf("history %+v, want call-2, call-1, call-0 (newest first, only this caller)", h)
	}
	old := h[2]
	if old.Outcome != "answered" || old.Agent != "bob" || len(old.Notes) != 2 || old.Notes[0].Author != "bob" || old.Notes[1].Text != "called back, done" {
		t.Errorf("call-0 in history %+v, want answered by bob with both notes in order", old)
	}
	if h[1].Outcome != "missed" || len(h[1].Notes) != 0 || h[1].Notes == nil {
		t.Errorf("call-1 in history %+v, want missed with an empty note list", h[1])
	}

	if ok, err := s.AnsweredFrom(ctx, "bob", "+15550001001", ""); err != nil || !ok {
		t.Errorf("AnsweredFrom(bob) = %v, %v; want true", ok, err)
	}
	if ok, _ := s.AnsweredFrom(ctx, "ann", "+15550001001", ""); ok {
		t.Error("AnsweredFrom(ann) = true; ann answered nothing")
	}

	// Append-only, like the CDR.
	if _, err := s.w.ExecContext(ctx, `UPDATE call_notes SET text = 'x'`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("UPDATE call_notes: %v, want refused as append-only", err)
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM call_notes`); err == nil {
		t.Error("DELETE FROM call_notes succeeded; notes are append-only")
	}
}

func TestNoteValidation(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	tests := []struct {
		name string
		text string
		want error
	}{
		{"empty", "", ErrNoteEmpty},
		{"blank", " \n\t ", ErrNoteEmpty},
		{"too long", strings.Repeat("é", MaxNoteLen+1), ErrNoteTooLong},
		{"longest", strings.Repeat("é", MaxNoteLen), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.InsertNote(ctx, Note{CallID: "c", Caller: "1", Author: "bob", Text: tt.text})
			if !errors.Is(err, tt.want) {
				t.Errorf("InsertNote(%d chars) = %v, want %v", len(tt.text), err, tt.want)
			}
		})
	}
}

func FuzzCleanNote(f *testing.F) {
	for _, s := range []string{"", "hello", "\xff\xfe", "a\x00b", strings.Repeat("x", MaxNoteLen+1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := CleanNote(s)
		if err != nil {
			return
		}
		if got == "" || strings.ContainsRune(got, 0) || len([]rune(got)) > MaxNoteLen || strings.TrimSpace(got) != got {
			t.Errorf("CleanNote(%q) = %q", s, got)
		}
	})
}
