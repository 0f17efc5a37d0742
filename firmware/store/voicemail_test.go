package store

import (
	"errors"
	"testing"
	"time"
)

func TestVoicemailMessages(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{Now: newClock().Now})
	ctx := t.Context()
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var ids []int64
	for i, caller := range []string{"+15550001", "+15550002", "+15550003"} {
		id, err := s.InsertVoicemail(ctx, VoicemailMessage{Box: "101", Time: base.Add(time.Duration(i) * time.Minute),
			Caller: caller, Duration: 5 * time.Second, File: "voicemail/101/x.wav"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := s.InsertVoicemail(ctx, VoicemailMessage{Box: "general", Caller: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkVoicemailHeard(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVoicemail(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	n, o, err := s.CountVoicemail(ctx, "101")
	if err != nil || n != 1 || o != 1 {
		t.Errorf("CountVoicemail = %d new, %d old, %v; want 1, 1", n, o, err)
	}
	msgs, err := s.ListVoicemail(ctx, "101")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Caller != "+15550003" || msgs[0].Heard || msgs[1].Caller != "+15550001" || !msgs[1].Heard {
		t.Errorf("ListVoicemail = %+v, want the new message first, then the heard one", msgs)
	}
	if msgs[0].Duration != 5*time.Second || !msgs[0].Time.Equal(base.Add(2*time.Minute)) {
		t.Errorf("message = %+v", msgs[0])
	}
}

// TestVoicemailOutbox: e-mails queue, come due, record their tries, stay
// across a reopen of the database, and only unsent ones can be retried.
func TestVoicemailOutbox(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	s := openStore(t, dir, Options{Now: clk.Now})
	ctx := t.Context()
	t0 := clk.Now()
	a, err := s.EnqueueVoicemailMail(ctx, VoicemailMail{MessageID: 7, Box: "101", BoxName: "Bob", To: "bob@example.com",
		Caller: "+15557770000", CallerName: "Alice", CallID: "c1", Time: t0, Duration: 4 * time.Second, File: "voicemail/101/m.wav"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.EnqueueVoicemailMail(ctx, VoicemailMail{Box: "general", To: "desk@example.com", File: "voicemail/general/m.wav", Next: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	due, err := s.DueVoicemailMail(ctx, t0, 10)
	if err != nil || len(due) != 1 || due[0].ID != a || due[0].State != MailPending || due[0].CallerName != "Alice" ||
		due[0].Duration != 4*time.Second || !due[0].Time.Equal(t0) || !due[0].Created.Equal(t0) {
		t.Fatalf("due at t0: %+v, %v; want the first e-mail only, as queued", due, err)
	}
	if err := s.VoicemailMailTried(ctx, a, MailPending, 1, t0.Add(time.Minute), "connection refused"); err != nil {
		t.Fatal(err)
	}
	if next, ok, err := s.NextVoicemailMailDue(ctx); err != nil || !ok || !next.Equal(t0.Add(time.Minute)) {
		t.Errorf("next due %v %v %v, want t0+1m", next, ok, err)
	}
	if due, _ := s.DueVoicemailMail(ctx, t0.Add(30*time.Second), 10); len(due) != 0 {
		t.Errorf("due before its retry: %+v", due)
	}

	// The box restarts: the outbox is still there.
	s.Close()
	s = openStore(t, dir, Options{Now: clk.Now})
	due, err = s.DueVoicemailMail(ctx, t0.Add(2*time.Hour), 10)
	if err != nil || len(due) != 2 || due[0].ID != a || due[0].Attempts != 1 || due[0].LastError != "connection refused" {
		t.Fatalf("after a reopen: %+v, %v", due, err)
	}
	clk.Advance(2 * time.Hour)
	if err := s.VoicemailMailTried(ctx, a, MailSent, 2, clk.Now(), ""); err != nil {
		t.Fatal(err)
	}
	if err := s.VoicemailMailTried(ctx, b, MailFailed, 30, clk.Now(), "550 no such user"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.NextVoicemailMailDue(ctx); ok {
		t.Error("a pending e-mail after all were sent or given up")
	}
	if err := s.RetryVoicemailMail(ctx, a); !errors.Is(err, ErrNotFound) {
		t.Errorf("retry of a sent e-mail: %v, want ErrNotFound", err)
	}
	clk.Advance(time.Minute)
	if err := s.RetryVoicemailMail(ctx, b); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListVoicemailOutbox(ctx, 10)
	if err != nil || len(list) != 2 || list[0].ID != b || list[1].ID != a {
		t.Fatalf("outbox %+v %v, want newest first", list, err)
	}
	if g := list[0]; g.State != MailPending || !g.Next.Equal(clk.Now()) || g.Attempts != 30 || !g.Done.IsZero() || !g.Created.Equal(clk.Now()) {
		t.Errorf("retried: %+v, want pending now, its attempts kept, a new 48 h from now", g)
	}
	if g := list[1]; g.State != MailSent || !g.Done.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("sent: %+v", g)
	}
	if err := s.VoicemailMailTried(ctx, 999, MailSent, 1, clk.Now(), ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("try of an unknown e-mail: %v", err)
	}
}

// TestSetMailboxPIN: a PIN changed by phone is in the configuration (the
// next export with secrets has it), for a group box and for an
// extension's own box, recorded as a version by the phone.
func TestSetMailboxPIN(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	st := fullSite()
	if _, err := s.ImportSite(ctx, st, "test"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMailboxPIN(ctx, "101", "97531", "phone:101"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMailboxPIN(ctx, st.Voicemail[0].Box, "8642", "phone:"+st.Voicemail[0].Box); err != nil {
		t.Fatal(err)
	}
	got, err := s.ExportSite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Extensions[0].VoicemailPIN != "97531" || got.Voicemail[0].PIN != "8642" {
		t.Errorf("after the changes: extension 101 voicemail_pin %q, box %s pin %q", got.Extensions[0].VoicemailPIN, got.Voicemail[0].Box, got.Voicemail[0].PIN)
	}
	if got.Extensions[0].Secret != st.Extensions[0].Secret || got.Extensions[1].Secret != st.Extensions[1].Secret {
		t.Error("changing a mailbox PIN changed the extensions' secrets")
	}
	vs, err := s.ListVersions(ctx, 1)
	if err != nil || len(vs) != 1 || vs[0].Actor != "phone:"+st.Voicemail[0].Box {
		t.Errorf("last version %+v %v, want by the phone", vs, err)
	}
	if err := s.SetMailboxPIN(ctx, "102", "1234", "phone:102"); !errors.Is(err, ErrNotFound) {
		t.Errorf("extension without voicemail: %v, want ErrNotFound", err)
	}
}

// BenchmarkVoicemailOutboxPass is one pass of the e-mail sender over an
// outbox of a year of a busy box (10,000 sent e-mails) with 20 pending:
// the due ones and when the next is due.
func BenchmarkVoicemailOutboxPass(b *testing.B) {
	clk := newClock()
	s := openStore(b, b.TempDir(), Options{Now: clk.Now})
	ctx := b.Context()
	for i := range 10020 {
		id, err := s.EnqueueVoicemailMail(ctx, VoicemailMail{Box: "101", To: "bob@example.com", File: "voicemail/101/m.wav",
			Next: clk.Now().Add(time.Duration(i%40) * time.Minute)})
		if err != nil {
			b.Fatal(err)
		}
		if i < 10000 {
			if err := s.VoicemailMailTried(ctx, id, MailSent, 1, clk.Now(), ""); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		due, err := s.DueVoicemailMail(ctx, clk.Now().Add(10*time.Minute), 20)
		if err != nil || len(due) == 0 {
			b.Fatal(len(due), err)
		}
		if _, ok, err := s.NextVoicemailMailDue(ctx); err != nil || !ok {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnqueueVoicemailMail is the cost a new message adds to the
// call that left it: one outbox row.
func BenchmarkEnqueueVoicemailMail(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{})
	ctx := b.Context()
	for b.Loop() {
		if _, err := s.EnqueueVoicemailMail(ctx, VoicemailMail{Box: "101", To: "bob@example.com", File: "voicemail/101/m.wav"}); err != nil {
			b.Fatal(err)
		}
	}
}
