package web_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ringbox/audio/dtmf"
	tones "ringbox/audio/tone"
	"ringbox/board"
	"ringbox/board/analog"
	"ringbox/board/line"
	"ringbox/board/sim"
	"ringbox/firmware/auth"
	"ringbox/firmware/events"
	"ringbox/web"
	"ringbox/web/webtest"
)

// fakeEngine is the line engine as the board's routes see it: fxs:1 is
// at dial tone while its simulated phone is off hook, and the site names
// an fxs:9 this board lacks.
type fakeEngine struct{ b *sim.Board }

func (f fakeEngine) Lines() []analog.LineInfo {
	state := analog.StateIdle
	if f.b != nil && f.b.Phone(1).State().OffHook {
		state = analog.StateDialTone
	}
	return []analog.LineInfo{
		{Port: "fxs:1", Kind: "fxs", Extension: "201", State: state, Health: analog.HealthOK},
		{Port: "fxo:1", Kind: "fxo", Trunk: "pstn", State: analog.StateIdle, Health: analog.HealthOK},
		{Port: "fxs:9", Kind: "fxs", Extension: "209", State: analog.StateIdle, Health: analog.HealthMissing, Detail: "the board has no fxs:9"},
	}
}

type boardEnv struct {
	t     testing.TB
	h     http.Handler
	board *sim.Board
	bus   *events.Bus
	auth  *webtest.Auth
}

const (
	boardAdmin   = "tok-board-admin"
	boardManager = "tok-board-manager"
	boardAgent   = "tok-board-agent"
)

// newBoardEnv is a server with only the board's routes and page, over a
// simulated board (nil: a real one) and a fake line engine.
func newBoardEnv(t testing.TB, b board.Board, opts ...func(*web.BoardPanel)) *boardEnv {
	a := webtest.NewAuth()
	a.AddUser("root", "pw", auth.Admin, "")
	a.AddToken(boardAdmin, auth.Principal{Login: "token:admin", Role: auth.Admin})
	a.AddToken(boardManager, auth.Principal{Login: "token:mgr", Role: auth.Manager})
	a.AddToken(boardAgent, auth.Principal{Login: "token:agent", Role: auth.Agent, Agent: "a1"})
	bus := events.New()
	quiet := slog.New(slog.DiscardHandler)
	srv := web.New(web.Config{Auth: a, Bus: bus, Logger: quiet})
	sb, _ := b.(*sim.Board)
	p := &web.BoardPanel{Board: b, Bus: bus, Lines: fakeEngine{sb}, Logger: quiet}
	for _, o := range opts {
		o(p)
	}
	srv.BoardPanel(p)
	return &boardEnv{t: t, h: srv.Handler(), board: sb, bus: bus, auth: a}
}

func newSimBoard(t testing.TB) *sim.Board {
	b := sim.New(sim.Options{Buttons: 2, QueueLEDs: 2, FXS: 2, FXO: 1, Zone: "us"})
	t.Cleanup(func() { b.Close() })
	return b
}

func (e *boardEnv) do(tok, method, path, body string) *httptest.ResponseRecorder {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, path, nil)
	} else {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// boardJSON is GET /api/v1/board as a client reads it.
type boardJSON struct {
	Board   string `json:"board"`
	Sim     bool   `json:"sim"`
	Zone    string `json:"zone"`
	Buttons []struct {
		N   int    `json:"n"`
		LED string `json:"led"`
	} `json:"buttons"`
	QueueLEDs []struct {
		N   int    `json:"n"`
		LED string `json:"led"`
	} `json:"queue_leds"`
	Lines []struct {
		Port  string `json:"port"`
		Kind  string `json:"kind"`
		Phone *struct {
			OffHook bool   `json:"off_hook"`
			Ringing bool   `json:"ringing"`
			Feed    string `json:"feed"`
			Hears   struct {
				Heard    string `json:"heard"`
				CallerID *struct {
					Number, Name string
				} `json:"caller_id"`
			} `json:"hears"`
		} `json:"phone"`
		Exchange *struct {
			Ringing bool   `json:"ringing"`
			Dialed  string `json:"dialed"`
			Battery bool   `json:"battery"`
		} `json:"exchange"`
		Engine *analog.LineInfo `json:"engine"`
	} `json:"lines"`
}

func (e *boardEnv) state(tok string) boardJSON {
	e.t.Helper()
	w := e.do(tok, "GET", "/api/v1/board", "")
	if w.Code != http.StatusOK {
		e.t.Fatalf("GET /api/v1/board = %d %s", w.Code, w.Body)
	}
	var b boardJSON
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		e.t.Fatalf("board JSON: %v\n%s", err, w.Body)
	}
	return b
}

func TestBoardStateByRole(t *testing.T) {
	e := newBoardEnv(t, newSimBoard(t))
	e.board.LED(2).Set(board.FastBlink)
	e.board.QueueLED(1).Set(board.DoubleBlink)

	agent := e.state(boardAgent)
	if agent.Board != "sim" || !agent.Sim || len(agent.Buttons) != 2 || agent.Buttons[1].LED != "fast_blink" ||
		len(agent.QueueLEDs) != 2 || agent.QueueLEDs[0].LED != "double_blink" {
		t.Errorf("agent sees %+v", agent)
	}
	if agent.Lines != nil {
		t.Errorf("an agent sees the analog lines: %+v", agent.Lines)
	}

	admin := e.state(boardAdmin)
	var ports []string
	for _, l := range admin.Lines {
		ports = append(ports, l.Port)
	}
	if want := []string{"fxs:1", "fxs:2", "fxo:1", "fxs:9"}; !slices.Equal(ports, want) {
		t.Fatalf("admin sees lines %v, want %v (the board's, then the engine's missing one)", ports, want)
	}
	l := admin.Lines[0]
	if l.Phone == nil || l.Phone.OffHook || l.Phone.Feed != "forward" || l.Engine == nil || l.Engine.Extension != "201" || l.Engine.State != "idle" {
		t.Errorf("fxs:1 = %+v, engine %+v", l.Phone, l.Engine)
	}
	if admin.Lines[2].Exchange == nil || !admin.Lines[2].Exchange.Battery {
		t.Errorf("fxo:1 has no exchange state: %+v", admin.Lines[2])
	}
	if m := admin.Lines[3]; m.Phone != nil || m.Engine == nil || m.Engine.Health != analog.HealthMissing {
		t.Errorf("fxs:9 = %+v", m)
	}

	// Lifting the phone through the API changes both views.
	if w := e.do(boardAdmin, "POST", "/api/v1/board/lines/fxs:1/hook", `{"off": true}`); w.Code != http.StatusNoContent {
		t.Fatalf("lift: %d %s", w.Code, w.Body)
	}
	if l := e.state(boardAdmin).Lines[0]; !l.Phone.OffHook || l.Engine.State != analog.StateDialTone {
		t.Errorf("after lifting: phone %+v, engine %+v", l.Phone, l.Engine)
	}

	for _, tt := range []struct {
		tok, method, path, body string
		want                    int
	}{
		{boardAgent, "GET", "/api/v1/lines", "", http.StatusForbidden},
		{boardManager, "GET", "/api/v1/lines", "", http.StatusForbidden},
		{boardAdmin, "GET", "/api/v1/lines", "", http.StatusOK},
		{boardManager, "POST", "/api/v1/board/lines/fxs:1/hook", `{"off": false}`, http.StatusForbidden},
		{boardAgent, "POST", "/api/v1/board/buttons/1/press", "", http.StatusForbidden},
		{boardManager, "POST", "/api/v1/board/service/press", "", http.StatusForbidden},
		{boardAgent, "GET", "/api/v1/board/lines/fxs:1/hear", "", http.StatusForbidden},
	} {
		if w := e.do(tt.tok, tt.method, tt.path, tt.body); w.Code != tt.want {
			t.Errorf("%s %s as %s = %d, want %d", tt.method, tt.path, tt.tok, w.Code, tt.want)
		}
	}
	var lines []analog.LineInfo
	json.Unmarshal(e.do(boardAdmin, "GET", "/api/v1/lines", "").Body.Bytes(), &lines)
	if len(lines) != 3 || lines[2].Health != analog.HealthMissing {
		t.Errorf("GET /api/v1/lines = %+v", lines)
	}
}

func TestBoardButtons(t *testing.T) {
	e := newBoardEnv(t, newSimBoard(t))
	presses := e.board.Events(t.Context())
	sub := e.bus.Subscribe(8, events.Filter("board."))
	defer sub.Close()
	if w := e.do(boardAdmin, "POST", "/api/v1/board/buttons/2/press?long=1", ""); w.Code != http.StatusNoContent {
		t.Fatalf("press: %d %s", w.Code, w.Body)
	}
	if ev := <-presses; ev.Button != 2 || ev.Kind != board.Long {
		t.Errorf("board saw %+v, want button 2 long", ev)
	}
	if w := e.do(boardAdmin, "POST", "/api/v1/board/service/press", ""); w.Code != http.StatusNoContent {
		t.Fatalf("service: %d %s", w.Code, w.Body)
	}
	if ev := <-presses; ev.Button != 0 || ev.Kind != board.Service {
		t.Errorf("board saw %+v, want the service button", ev)
	}
	if w := e.do(boardAdmin, "POST", "/api/v1/board/buttons/3/press", ""); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "button 3") {
		t.Errorf("pressing button 3 of 2: %d %s", w.Code, w.Body)
	}
	select {
	case ev := <-sub.C():
		if b, ok := ev.Data.(events.BoardButton); !ok || b.Button != 2 || !b.Long {
			t.Errorf("published %+v", ev.Data)
		}
	case <-time.After(5 * time.Second):
		t.Error("the press was not published")
	}
}

// realBoard is a board with real buttons and lines.
type realBoard struct{}

type fixedLED board.Pattern

func (l fixedLED) Set(board.Pattern)      {}
func (l fixedLED) Get() board.Pattern     { return board.Pattern(l) }
func (realBoard) Name() string            { return "pbx-a" }
func (realBoard) Buttons() []board.Button { return []board.Button{{N: 1, Label: "Sales"}} }
func (realBoard) LED(n int) board.LED     { return fixedLED(board.On) }
func (realBoard) QueueLEDs() int          { return 1 }
func (realBoard) QueueLED(n int) board.LED {
	return fixedLED(board.SlowBlink)
}
func (realBoard) Events(ctx context.Context) <-chan board.ButtonEvent { return nil }
func (realBoard) Lines() []line.Port                                  { return nil }
func (realBoard) Close() error                                        { return nil }

func TestBoardRealIsReadOnly(t *testing.T) {
	e := newBoardEnv(t, realBoard{})
	for _, path := range []string{"/api/v1/board/service/press", "/api/v1/board/lines/fxs:1/hook", "/api/v1/board/lines/fxs:1/dial",
		"/api/v1/board/lines/fxo:1/ring", "/api/v1/board/lines/fxo:1/hangup", "/api/v1/board/lines/fxo:1/battery"} {
		w := e.do(boardAdmin, "POST", path, `{}`)
		if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "this board's lines are real") {
			t.Errorf("POST %s on a real board = %d %s, want 409", path, w.Code, w.Body)
		}
	}
	if w := e.do(boardAdmin, "GET", "/api/v1/board/lines/fxs:1/hear", ""); w.Code != http.StatusConflict {
		t.Errorf("hear on a real board = %d", w.Code)
	}
	if w := e.do(boardAdmin, "POST", "/api/v1/board/buttons/1/press", ""); w.Code != http.StatusConflict {
		t.Errorf("press on a real board = %d", w.Code)
	}
	b := e.state(boardAdmin)
	if b.Board != "pbx-a" || b.Sim || b.Buttons[0].LED != "on" || b.QueueLEDs[0].LED != "slow_blink" || len(b.Lines) != 3 || b.Lines[0].Phone != nil {
		t.Errorf("real board state %+v", b)
	}
}

func TestBoardBadInput(t *testing.T) {
	e := newBoardEnv(t, newSimBoard(t))
	e.board.Phone(1).Lift()
	tests := []struct {
		path, body string
		code       int
		says       string
	}{
		{"fxs:7/hook", `{"off": true}`, 404, `port "fxs:7"`},
		{"nonsense/hook", `{"off": true}`, 404, `port "nonsense"`},
		{"fxs:1/hook", `{}`, 400, "off: required"},
		{"fxs:1/hook", `{"off": "yes"}`, 400, `"off"`},
		{"fxs:1/hook", `{"of": true}`, 400, `unknown field "of"`},
		{"fxo:1/hook", `{"off": true}`, 400, "FXS ports"},
		{"fxs:1/dial", `{"digits": ""}`, 400, "digits: required"},
		{"fxs:1/dial", `{"digits": "12x"}`, 400, "digits:"},
		{"fxs:1/dial", `{"digits": "1*", "mode": "pulse"}`, 400, "digits:"},
		{"fxs:1/dial", `{"digits": "1", "mode": "morse"}`, 400, "mode:"},
		{"fxs:1/dial", `{"digits": "` + strings.Repeat("1", 33) + `"}`, 400, "digits: at most 32"},
		{"fxs:2/dial", `{"digits": "1"}`, 409, "on hook"},
		{"fxo:1/dial", `{"digits": "1"}`, 409, "does not hold the line"},
		{"fxo:1/dial", `{"digits": "1", "mode": "pulse"}`, 400, "mode:"},
		{"fxs:2/flash", ``, 409, "on hook"},
		{"fxs:1/tone", `{"dbm0": -10}`, 400, "hz: required"},
		{"fxs:1/tone", `{"hz": 5000}`, 400, "hz:"},
		{"fxs:1/tone", `{"hz": 1000, "dbm0": 10}`, 400, "dbm0:"},
		{"fxo:1/ring", `{"number": "12ab"}`, 400, "number:"},
		{"fxo:1/ring", `{"name": "` + strings.Repeat("n", 51) + `"}`, 400, "name:"},
		{"fxo:1/ring", `{"name": "a\u0007b"}`, 400, "name:"},
		{"fxs:1/ring", `{}`, 400, "FXO ports"},
		{"fxo:1/hangup", `{"how": "slam"}`, 400, "how:"},
		{"fxo:1/hangup", `{"how": "busy"}`, 409, "no call"},
		{"fxo:1/battery", `{}`, 400, "on: required"},
		{"fxo:1/parallel", `{"on": true}`, 400, `unknown field "on"`},
		{"fxo:1/parallel", `[]`, 400, "must be an object"},
	}
	for _, tt := range tests {
		w := e.do(boardAdmin, "POST", "/api/v1/board/lines/"+tt.path, tt.body)
		if msg := errorOf(t, w); w.Code != tt.code || !strings.Contains(msg, tt.says) {
			t.Errorf("POST %s %s = %d %q, want %d saying %q", tt.path, tt.body, w.Code, msg, tt.code, tt.says)
		}
	}
	for _, q := range []string{"ms=5", "ms=20000", "ms=x"} {
		if w := e.do(boardAdmin, "GET", "/api/v1/board/lines/fxs:1/hear?"+q, ""); w.Code != 400 || !strings.Contains(w.Body.String(), "ms:") {
			t.Errorf("hear?%s = %d %s", q, w.Code, w.Body)
		}
	}
}

// TestBoardDialAndHear: a DTMF dial through the API returns at once and
// reaches the port's audio; the phone then hears what the port sends.
func TestBoardDialAndHear(t *testing.T) {
	e := newBoardEnv(t, newSimBoard(t))
	port := e.board.Lines()[0]
	e.do(boardAdmin, "POST", "/api/v1/board/lines/fxs:1/hook", `{"off": true}`)

	var (
		mu    sync.Mutex
		heard []byte
	)
	go func() {
		a, det := port.Audio(), dtmf.NewDetector()
		f := make([]int16, line.FrameSamples)
		for a.ReadFrame(f) == nil {
			d := det.Feed(f)
			mu.Lock()
			heard = append(heard, d...)
			mu.Unlock()
		}
	}()
	start := time.Now()
	if w := e.do(boardAdmin, "POST", "/api/v1/board/lines/fxs:1/dial", `{"digits": "101"}`); w.Code != http.StatusAccepted {
		t.Fatalf("dial: %d %s", w.Code, w.Body)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("the dial route took %v: it must return at once", d)
	}
	if w := e.do(boardAdmin, "POST", "/api/v1/board/lines/fxs:1/dial", `{"digits": "2"}`); w.Code != http.StatusConflict {
		t.Errorf("a second dial while dialling = %d, want 409", w.Code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := string(heard)
		mu.Unlock()
		if got == "101" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the port heard %q, want 101", got)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The port plays the us busy tone to the phone for 6 s.
	busy, _ := tones.Zone("us")
	src := busy.Source(tones.Busy, line.Rate)
	f := make([]int16, line.FrameSamples)
	for range 300 {
		src.ReadFrame(f)
		port.Audio().WriteFrame(f)
	}
	w := e.do(boardAdmin, "GET", "/api/v1/board/lines/fxs:1/hear?ms=2000", "")
	var h struct {
		Level float64 `json:"level_dbm0"`
		Tones []struct {
			Hz float64 `json:"hz"`
		} `json:"tones"`
		Heard string `json:"heard"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &h); err != nil {
		t.Fatal(err)
	}
	var hz []float64
	for _, x := range h.Tones {
		hz = append(hz, x.Hz)
	}
	slices.Sort(hz)
	if h.Heard != "busy_tone" || !slices.Equal(hz, []float64{480, 620}) || h.Level > -10 || h.Level < -20 {
		t.Errorf("hear = %s, want busy tone 480+620 Hz around -13 dBm0", w.Body)
	}
}

func TestBoardRingWithCallerID(t *testing.T) {
	var rendered []string
	e := newBoardEnv(t, newSimBoard(t), func(p *web.BoardPanel) {
		p.CallerIDAudio = func(zone, number, name string) []int16 {
			rendered = append(rendered, zone+" "+number+" "+name)
			return []int16{1, 2, 3}
		}
		p.DecodeCallerID = func(zone string, pcm []int16) (string, string, bool) {
			return "+15550100", "Ann", slices.Equal(pcm, []int16{7, 8, 9})
		}
	})
	if w := e.do(boardAdmin, "POST", "/api/v1/board/lines/fxo:1/ring", `{"number": "+15550100", "name": "Ann Caller"}`); w.Code != http.StatusNoContent {
		t.Fatalf("ring: %d %s", w.Code, w.Body)
	}
	if !slices.Equal(rendered, []string{"us +15550100 Ann Caller"}) {
		t.Errorf("caller ID rendered for %q", rendered)
	}
	if !e.board.Exchange(1).State().Ringing {
		t.Error("the exchange does not ring the box")
	}
	if w := e.do(boardAdmin, "POST", "/api/v1/board/lines/fxo:1/ring", `{}`); w.Code != http.StatusConflict {
		t.Errorf("ringing twice = %d %s", w.Code, w.Body)
	}
	if w := e.do(boardAdmin, "POST", "/api/v1/board/lines/fxo:1/hangup", `{"how": "silence"}`); w.Code != http.StatusNoContent || e.board.Exchange(1).State().Ringing {
		t.Errorf("the caller hanging up: %d %s, ringing %v", w.Code, w.Body, e.board.Exchange(1).State().Ringing)
	}

	// The phone on fxs:2 shows the caller ID the port sent it on hook.
	port := e.board.Lines()[1].(line.FXSPort)
	port.SetFeed(line.FeedOnHookTx)
	port.Audio().WriteFrame([]int16{7, 8, 9})
	b := e.state(boardAdmin)
	if cid := b.Lines[1].Phone.Hears.CallerID; cid == nil || cid.Number != "+15550100" || cid.Name != "Ann" {
		t.Errorf("fxs:2 caller ID = %+v", cid)
	}
	if b.Lines[0].Phone.Hears.CallerID != nil {
		t.Error("fxs:1 shows a caller ID it never heard")
	}
}

func TestBoardExchangeControls(t *testing.T) {
	e := newBoardEnv(t, newSimBoard(t))
	x := e.board.Exchange(1)
	port := e.board.Lines()[2].(line.FXOPort)
	for _, tt := range []struct{ path, body string }{
		{"battery", `{"on": false}`}, {"battery", `{"on": true}`}, {"parallel", `{"off_hook": true}`},
	} {
		if w := e.do(boardAdmin, "POST", "/api/v1/board/lines/fxo:1/"+tt.path, tt.body); w.Code != http.StatusNoContent {
			t.Fatalf("%s %s: %d %s", tt.path, tt.body, w.Code, w.Body)
		}
	}
	var got []line.EvType
	for len(got) < 3 {
		got = append(got, (<-port.Events()).Type)
	}
	if want := []line.EvType{line.BatteryLost, line.BatteryRestored, line.ParallelOffHook}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	port.SetHook(true)
	if w := e.do(boardAdmin, "POST", "/api/v1/board/lines/fxo:1/tone", `{"hz": 1000, "dbm0": -10}`); w.Code != http.StatusNoContent {
		t.Fatalf("tone: %d %s", w.Code, w.Body)
	}
	if w := e.do(boardAdmin, "POST", "/api/v1/board/lines/fxo:1/hangup", `{"how": "reversal"}`); w.Code != http.StatusNoContent {
		t.Fatalf("hangup: %d %s", w.Code, w.Body)
	}
	if ev := <-port.Events(); ev.Type != line.PolarityReversal || x.State().FarEnd != "reversal" {
		t.Errorf("far-end hang-up by reversal: event %v, state %+v", ev.Type, x.State())
	}
}

// FuzzBoardAPI: no body or port makes a board route fail with a 5xx,
// panic, or answer anything but the statuses it documents.
func FuzzBoardAPI(f *testing.F) {
	paths := []string{"fxs:1/hook", "fxs:1/dial", "fxs:1/flash", "fxs:1/tone", "fxo:1/ring", "fxo:1/hangup", "fxo:1/battery", "fxo:1/parallel", "fxo:1/tone"}
	f.Add(uint8(0), "fxs:1", `{"off": true}`)
	f.Add(uint8(1), "fxs:1", `{"digits": "1#", "mode": "dtmf"}`)
	f.Add(uint8(1), "fxs:2", `{"digits": "90", "mode": "pulse"}`)
	f.Add(uint8(3), "fxo:1", `{"hz": 440.5, "dbm0": -60}`)
	f.Add(uint8(4), "fxo:1", `{"number": "+1", "name": "Zoë"}`)
	f.Add(uint8(5), "fxo:1", `{"how": "battery"}`)
	f.Add(uint8(6), "fxo:9", `{"on": null}`)
	f.Add(uint8(7), "fxo:1", `{"off_hook": 1}`)
	f.Add(uint8(2), "fxs:0", `{"a":`)
	b := sim.New(sim.Options{Buttons: 1, FXS: 2, FXO: 1})
	defer b.Close()
	e := newBoardEnv(f, b)
	f.Fuzz(func(t *testing.T, route uint8, port, body string) {
		_, what, _ := strings.Cut(paths[int(route)%len(paths)], "/")
		if port == "" || port == "." || port == ".." {
			port = "fxs:1"
		}
		w := e.do(boardAdmin, "POST", "/api/v1/board/lines/"+url.PathEscape(port)+"/"+what, body)
		switch w.Code {
		case 202, 204, 400, 404, 409, 413, 415:
		default:
			t.Fatalf("POST %s/%s %q = %d %s", port, what, body, w.Code, w.Body)
		}
		if w.Code >= 400 && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("error answer is not JSON: %q", w.Body)
		}
	})
}

func TestBoardPage(t *testing.T) {
	page := func(e *boardEnv, tok string) (int, string) {
		t.Helper()
		s, err := e.auth.CreateSession(t.Context(), auth.Principal{Login: tok, Role: tok})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/board", nil)
		r.Header.Set("Cookie", web.CookieName+"="+s)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	e := newBoardEnv(t, newSimBoard(t))
	code, body := page(e, auth.Admin)
	if code != http.StatusOK {
		t.Fatalf("GET /board as admin = %d", code)
	}
	for _, want := range []string{`data-page="board"`, `data-sim="1"`, `href="/board" aria-current="page"`, "Call the box", `id="service"`,
		`data-key="#"`, `<option>battery</option>`, `src="/static/board.js`, `href="/static/board.css`} {
		if !strings.Contains(body, want) {
			t.Errorf("the sim board's page lacks %s", want)
		}
	}
	if code, body := page(e, auth.Manager); code != http.StatusForbidden || strings.Contains(body, `href="/board"`) {
		t.Errorf("GET /board as manager = %d, Board in the top bar: %v; want 403 and no link", code, strings.Contains(body, `href="/board"`))
	}

	real := newBoardEnv(t, realBoard{})
	_, body = page(real, auth.Admin)
	if !strings.Contains(body, "buttons and lines are real") {
		t.Error("the real board's page does not say it is read-only")
	}
	for _, sim := range []string{"Call the box", `id="service"`, `class="keypad"`, `class="lift"`} {
		if strings.Contains(body, sim) {
			t.Errorf("the real board's page has the sim control %s", sim)
		}
	}
	for _, asset := range []string{"/static/board.js", "/static/board.css"} {
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, httptest.NewRequest("GET", asset, nil))
		if w.Code != http.StatusOK || w.Body.Len() < 500 {
			t.Errorf("GET %s = %d, %d bytes", asset, w.Code, w.Body.Len())
		}
	}
}

// BenchmarkBoardState measures GET /api/v1/board for an admin on a sim
// board with 2 phones and an exchange line, each with 10 s of audio to
// name: what the board page costs the box every 500 ms.
func BenchmarkBoardState(b *testing.B) {
	brd := sim.New(sim.Options{Buttons: 4, QueueLEDs: 4, FXS: 2, FXO: 1})
	defer brd.Close()
	e := newBoardEnv(b, brd)
	us, _ := tones.Zone("us")
	src := us.Source(tones.Busy, line.Rate)
	f := make([]int16, line.FrameSamples)
	for _, p := range brd.Lines() {
		for range 500 {
			src.ReadFrame(f)
			p.Audio().WriteFrame(f)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if w := e.do(boardAdmin, "GET", "/api/v1/board", ""); w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
