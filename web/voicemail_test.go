package web_test

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/store"
	"ringbox/firmware/voicemail"
	"ringbox/web"
	"ringbox/web/webtest"
)

// TestVoicemailOutboxAPI: admins see the outbox (state, attempts, next
// try, last error; no audio, no relay credentials) and retry a failed
// e-mail; a sent one is not sent again; managers see nothing.
func TestVoicemailOutboxAPI(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, t.TempDir(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sent, _ := st.EnqueueVoicemailMail(ctx, store.VoicemailMail{Box: "101", To: "bob@example.com", Caller: "+15557770000", File: "voicemail/101/a.wav"})
	failed, _ := st.EnqueueVoicemailMail(ctx, store.VoicemailMail{Box: "general", To: "desk@example.com", Caller: "+15557770001",
		CallerName: "Alice", Duration: 4 * time.Second, File: "voicemail/general/b.wav"})
	pending, _ := st.EnqueueVoicemailMail(ctx, store.VoicemailMail{Box: "101", To: "bob@example.com", File: "voicemail/101/c.wav"})
	st.VoicemailMailTried(ctx, sent, store.MailSent, 1, time.Now(), "")
	st.VoicemailMailTried(ctx, failed, store.MailFailed, 31, time.Now(), "550 no such user")
	st.VoicemailMailTried(ctx, pending, store.MailPending, 2, time.Now().Add(2*time.Minute), "connection refused")

	a := webtest.NewAuth()
	a.AddToken("admin", auth.Principal{Login: "installer", Role: auth.Admin})
	a.AddToken("mgr", auth.Principal{Login: "sue", Role: auth.Manager})
	ws := web.New(web.Config{Auth: a, Logger: slog.New(slog.DiscardHandler)})
	for _, r := range web.VoicemailOutboxRoutes(&voicemail.Mailer{Outbox: st}) {
		ws.HandleRoute(r)
	}
	srv := httptest.NewServer(ws.Handler())
	t.Cleanup(srv.Close)
	e := &libEnv{t: t, srv: srv}

	if code, _ := e.do("GET", "/api/v1/voicemail/outbox", "mgr", "", nil); code != 403 {
		t.Errorf("manager GET outbox = %d, want 403", code)
	}
	code, body := e.do("GET", "/api/v1/voicemail/outbox", "admin", "", nil)
	if code != 200 {
		t.Fatalf("GET outbox = %d %s", code, body)
	}
	var out struct {
		Items []struct {
			ID        int64      `json:"id"`
			State     string     `json:"state"`
			Attempts  int        `json:"attempts"`
			NextTry   *time.Time `json:"next_try"`
			LastError string     `json:"last_error"`
			To        string     `json:"to"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 3 || out.Items[0].ID != pending || out.Items[0].NextTry == nil || out.Items[0].LastError != "connection refused" ||
		out.Items[1].State != store.MailFailed || out.Items[1].Attempts != 31 || out.Items[1].NextTry != nil || out.Items[2].State != store.MailSent {
		t.Errorf("outbox %s", body)
	}
	if strings.Contains(string(body), "password") || strings.Contains(string(body), "wav") {
		t.Errorf("the outbox shows files or credentials: %s", body)
	}
	if code, body := e.do("POST", "/api/v1/voicemail/outbox/"+itoa(failed)+"/retry", "admin", "", nil); code != 200 {
		t.Errorf("retry failed = %d %s", code, body)
	}
	if due, _ := st.DueVoicemailMail(ctx, time.Now().Add(time.Second), 10); len(due) != 1 || due[0].ID != failed {
		t.Errorf("due after the retry: %+v, want the retried e-mail", due)
	}
	if code, _ := e.do("POST", "/api/v1/voicemail/outbox/"+itoa(sent)+"/retry", "admin", "", nil); code != 404 {
		t.Errorf("retry of a sent e-mail = %d, want 404", code)
	}
	if code, _ := e.do("POST", "/api/v1/voicemail/outbox/x/retry", "admin", "", nil); code != 400 {
		t.Errorf("retry of a bad id = %d, want 400", code)
	}
	if code, _ := e.do("GET", "/api/v1/voicemail/outbox?limit=0", "admin", "", nil); code != 400 {
		t.Errorf("limit=0 = %d, want 400", code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
