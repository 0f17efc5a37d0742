package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"ringbox/audio/tone"
	"ringbox/board"
	"ringbox/board/analog"
	"ringbox/board/line"
	"ringbox/board/sim"
	"ringbox/firmware/auth"
	"ringbox/firmware/events"
)

// LineStates is the line engine as the board's routes read it.
type LineStates interface{ Lines() []analog.LineInfo }

// BoardPanel is what the board's API routes and its page (/board) need.
type BoardPanel struct {
	Board board.Board
	Bus   *events.Bus // button presses are published on it; nil: not
	Lines LineStates  // the line engine; nil: none
	// CallerIDAudio renders caller ID for the simulated exchange to send
	// between rings; nil: the exchange rings without it.
	CallerIDAudio func(zone, number, name string) []int16
	// DecodeCallerID reads the caller ID a simulated phone heard on hook;
	// nil: the API does not show it.
	DecodeCallerID func(zone string, pcm []int16) (number, name string, ok bool)
	Logger         *slog.Logger // nil: slog.Default()

	log  *slog.Logger
	mu   sync.Mutex      // protects busy
	busy map[string]bool // ports dialling or flashing in the background
}

// Limits of the simulated devices' controls.
const (
	maxDialDigits = 32
	maxNameLen    = 50
	maxHearMS     = 10000
	defaultHearMS = 500
	minToneDBm0   = -60
	maxToneDBm0   = 3
)

// BoardPanel registers the board's API routes and the /board page.
func (s *Server) BoardPanel(p *BoardPanel) {
	for _, r := range p.Routes() {
		s.HandleRoute(r)
	}
	s.HandlePage("GET /board", auth.Admin, func(w http.ResponseWriter, r *http.Request) {
		pr, _ := PrincipalFrom(r.Context())
		_, isSim := p.Board.(*sim.Board)
		s.execute(w, http.StatusOK, "board", boardPage{
			pageData: s.filled(pageData{Title: "Board", Page: "board", Active: "board", User: toJSON(pr)}),
			Sim:      isSim,
			HangUps:  sim.HangUps,
			Keys:     strings.Split("123456789*0#", ""),
		})
	})
}

type boardPage struct {
	pageData
	Sim     bool
	HangUps []string
	Keys    []string // the phone's keypad
}

// Routes are the board's API routes (BoardPanel registers them; a test may
// register them alone).
func (p *BoardPanel) Routes() []Route {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	p.log = p.Logger.With("pkg", "web", "part", "board")
	p.busy = map[string]bool{}
	simOnly := func(h func(w http.ResponseWriter, r *http.Request, b *sim.Board)) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, ok := p.Board.(*sim.Board)
			if !ok {
				WriteError(w, http.StatusConflict, "this board's lines are real: use the phones and lines on the box")
				return
			}
			h(w, r, b)
		})
	}
	const lines = "/api/v1/board/lines/{port}/"
	return []Route{
		{Method: "GET", Path: "/api/v1/board", Role: auth.Agent, Summary: "The box's buttons and their LEDs, queue LEDs and (admins) its analog lines", Handler: http.HandlerFunc(p.state)},
		{Method: "GET", Path: "/api/v1/lines", Role: auth.Admin, Summary: "The analog lines: state and health of each FXS and FXO port", Handler: http.HandlerFunc(p.lines)},
		{Method: "POST", Path: "/api/v1/board/buttons/{n}/press", Role: auth.Admin, Summary: "Press a button of the simulated board (?long=1)", Handler: http.HandlerFunc(p.press)},
		{Method: "POST", Path: "/api/v1/board/service/press", Role: auth.Admin, Summary: "Hold the simulated board's service button for 10 s (a factory-reset request)", Handler: simOnly(p.service)},
		{Method: "POST", Path: lines + "hook", Role: auth.Admin, Summary: "Lift or hang up a simulated phone: {\"off\": true}", Handler: simOnly(p.hook)},
		{Method: "POST", Path: lines + "dial", Role: auth.Admin, Summary: "Dial on a simulated phone, or key DTMF from an FXO line's far end: {\"digits\": \"101\", \"mode\": \"dtmf\" or \"pulse\"}", Handler: simOnly(p.dial)},
		{Method: "POST", Path: lines + "flash", Role: auth.Admin, Summary: "Hook-flash a simulated phone (300 ms on hook)", Handler: simOnly(p.flash)},
		{Method: "POST", Path: lines + "tone", Role: auth.Admin, Summary: "Make a simulated phone or far end send a steady tone: {\"hz\": 1000, \"dbm0\": -15}; hz 0: silence", Handler: simOnly(p.tone)},
		{Method: "GET", Path: lines + "hear", Role: auth.Admin, Summary: "What a simulated phone or exchange hears (?ms=500): level, tones, and a name for it", Handler: simOnly(p.hear)},
		{Method: "POST", Path: lines + "ring", Role: auth.Admin, Summary: "The simulated exchange calls the box on an FXO line: {\"number\": \"...\", \"name\": \"...\"}", Handler: simOnly(p.ring)},
		{Method: "POST", Path: lines + "hangup", Role: auth.Admin, Summary: "The far end hangs up an FXO line: {\"how\": \"reversal|battery|loop|busy|silence\"}", Handler: simOnly(p.hangup)},
		{Method: "POST", Path: lines + "battery", Role: auth.Admin, Summary: "Connect or remove an FXO line's battery: {\"on\": true}", Handler: simOnly(p.battery)},
		{Method: "POST", Path: lines + "parallel", Role: auth.Admin, Summary: "Lift or hang up a phone in parallel on an FXO line: {\"off_hook\": true}", Handler: simOnly(p.parallel)},
	}
}

type buttonJSON struct {
	N     int    `json:"n"`
	Label string `json:"label"`
	LED   string `json:"led"`
}

type ledJSON struct {
	N   int    `json:"n"`
	LED string `json:"led"`
}

// lineJSON is one analog port: the simulated device (sim boards) and the
// line engine's view.
type lineJSON struct {
	Port     string           `json:"port"`
	Kind     string           `json:"kind"`
	Phone    *phoneJSON       `json:"phone,omitempty"`
	Exchange *exchangeJSON    `json:"exchange,omitempty"`
	Engine   *analog.LineInfo `json:"engine,omitempty"`
}

type phoneJSON struct {
	sim.PhoneState
	Hears hearing `json:"hears"`
}

type exchangeJSON struct {
	sim.ExchangeState
	Hears hearing `json:"hears"`
}

func ledName(l board.LED) string {
	if l == nil {
		return board.Off.String()
	}
	return l.Get().String()
}

func (p *BoardPanel) state(w http.ResponseWriter, r *http.Request) {
	b := p.Board
	sb, isSim := b.(*sim.Board)
	out := map[string]any{"board": b.Name(), "sim": isSim}
	buttons := []buttonJSON{}
	for _, x := range b.Buttons() {
		buttons = append(buttons, buttonJSON{x.N, x.Label, ledName(b.LED(x.N))})
	}
	out["buttons"] = buttons
	qleds := []ledJSON{}
	for n := 1; n <= b.QueueLEDs(); n++ {
		qleds = append(qleds, ledJSON{n, ledName(b.QueueLED(n))})
	}
	out["queue_leds"] = qleds
	if isSim {
		out["zone"] = sb.Zone()
	}
	if pr, ok := PrincipalFrom(r.Context()); ok && auth.Allows(pr.Role, auth.Admin) {
		out["lines"] = p.lineList(sb)
	}
	WriteJSON(w, http.StatusOK, out)
}

// lineList merges the board's ports (with their simulated devices) and the
// engine's lines, in the board's order, then lines the engine has that the
// board lacks (health "missing").
func (p *BoardPanel) lineList(sb *sim.Board) []lineJSON {
	var engine []analog.LineInfo
	if p.Lines != nil {
		engine = p.Lines.Lines()
	}
	byPort := map[string]*analog.LineInfo{}
	for i := range engine {
		byPort[engine[i].Port] = &engine[i]
	}
	out := []lineJSON{}
	seen := map[string]bool{}
	for _, port := range p.Board.Lines() {
		name := line.Name(port)
		seen[name] = true
		l := lineJSON{Port: name, Kind: port.Kind().String(), Engine: byPort[name]}
		if sb != nil {
			switch port.Kind() {
			case line.FXS:
				ph := sb.Phone(port.N())
				l.Phone = &phoneJSON{PhoneState: ph.State(), Hears: p.hearPhone(sb, ph, time.Second)}
			case line.FXO:
				x := sb.Exchange(port.N())
				l.Exchange = &exchangeJSON{ExchangeState: x.State(), Hears: p.hearOf(sb, x.Heard, time.Second)}
			}
		}
		out = append(out, l)
	}
	for i := range engine {
		if !seen[engine[i].Port] {
			out = append(out, lineJSON{Port: engine[i].Port, Kind: engine[i].Kind, Engine: &engine[i]})
		}
	}
	return out
}

func (p *BoardPanel) lines(w http.ResponseWriter, r *http.Request) {
	if p.Lines == nil {
		writeList(w, []analog.LineInfo(nil))
		return
	}
	writeList(w, p.Lines.Lines())
}

func (p *BoardPanel) press(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		WriteError(w, http.StatusBadRequest, "button: want a number")
		return
	}
	kind := board.Short
	if r.URL.Query().Get("long") == "1" {
		kind = board.Long
	}
	b, ok := p.Board.(*sim.Board)
	if !ok {
		WriteError(w, http.StatusConflict, "this board's buttons are real: press them on the box")
		return
	}
	if n < 1 || n > len(b.Buttons()) {
		WriteError(w, http.StatusNotFound, fmt.Sprintf("button %d: the board has buttons 1 to %d", n, len(b.Buttons())))
		return
	}
	if err := b.Press(n, kind); err != nil {
		WriteError(w, http.StatusServiceUnavailable, "button "+strconv.Itoa(n)+": "+err.Error())
		return
	}
	if p.Bus != nil {
		p.Bus.Publish(events.BoardButton{Button: n, Long: kind == board.Long})
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *BoardPanel) service(w http.ResponseWriter, r *http.Request, b *sim.Board) {
	if err := b.PressService(); err != nil {
		WriteError(w, http.StatusServiceUnavailable, "service button: "+err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// device finds the port named in the path; it answers 404 and returns
// false when there is none.
func device(w http.ResponseWriter, r *http.Request, b *sim.Board) (kind line.Kind, n int, name string, ok bool) {
	name = r.PathValue("port")
	k, num, _ := strings.Cut(name, ":")
	n, err := strconv.Atoi(num)
	if err == nil && n >= 1 {
		switch {
		case k == "fxs" && b.Phone(n) != nil:
			return line.FXS, n, name, true
		case k == "fxo" && b.Exchange(n) != nil:
			return line.FXO, n, name, true
		}
	}
	var have []string
	for _, p := range b.Lines() {
		have = append(have, line.Name(p))
	}
	WriteError(w, http.StatusNotFound, fmt.Sprintf("port %q: no such port on this board (it has %s)", name, orNone(have)))
	return 0, 0, name, false
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// phone finds the FXS port named in the path, answering 404 or 400.
func phone(w http.ResponseWriter, r *http.Request, b *sim.Board, what string) (*sim.Phone, string, bool) {
	kind, n, name, ok := device(w, r, b)
	if !ok {
		return nil, "", false
	}
	if kind != line.FXS {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("port %s: %s is for FXS ports (phones); %s faces the exchange", name, what, name))
		return nil, "", false
	}
	return b.Phone(n), name, true
}

// exchange finds the FXO port named in the path, answering 404 or 400.
func exchange(w http.ResponseWriter, r *http.Request, b *sim.Board, what string) (*sim.Exchange, string, bool) {
	kind, n, name, ok := device(w, r, b)
	if !ok {
		return nil, "", false
	}
	if kind != line.FXO {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("port %s: %s is for FXO ports (exchange lines); %s has a phone", name, what, name))
		return nil, "", false
	}
	return b.Exchange(n), name, true
}

// decode reads the JSON body into v, answering 400 (or 413, 415) if it
// cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := DecodeJSON(r, v); err != nil {
		writeDecodeError(w, err)
		return false
	}
	return true
}

func (p *BoardPanel) hook(w http.ResponseWriter, r *http.Request, b *sim.Board) {
	ph, _, ok := phone(w, r, b, "hook")
	if !ok {
		return
	}
	var req struct {
		Off *bool `json:"off"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Off == nil {
		WriteError(w, http.StatusBadRequest, `off: required (true lifts the handset, false hangs up)`)
		return
	}
	if *req.Off {
		ph.Lift()
	} else {
		ph.Hang()
	}
	w.WriteHeader(http.StatusNoContent)
}

// background runs f for port on the board's goroutine, one at a time per
// port; it answers 409 when the port is still busy with the last one.
func (p *BoardPanel) background(w http.ResponseWriter, b *sim.Board, port, what string, f func() error) {
	p.mu.Lock()
	if p.busy[port] {
		p.mu.Unlock()
		WriteError(w, http.StatusConflict, fmt.Sprintf("port %s: still dialling or flashing: try again when it is done", port))
		return
	}
	p.busy[port] = true
	p.mu.Unlock()
	started := b.Go(func(ctx context.Context) {
		defer func() {
			p.mu.Lock()
			delete(p.busy, port)
			p.mu.Unlock()
		}()
		if err := f(); err != nil && !errors.Is(err, sim.ErrClosed) {
			p.log.Warn("sim phone", "port", port, "action", what, "err", err)
		}
	})
	if !started {
		p.mu.Lock()
		delete(p.busy, port)
		p.mu.Unlock()
		WriteError(w, http.StatusServiceUnavailable, "the simulated board is shut down")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// dial keys digits on a phone (DTMF or pulses), or from the far end of an
// exchange line (DTMF: a caller answering an IVR).
func (p *BoardPanel) dial(w http.ResponseWriter, r *http.Request, b *sim.Board) {
	kind, n, name, ok := device(w, r, b)
	if !ok {
		return
	}
	var req struct {
		Digits string `json:"digits"`
		Mode   string `json:"mode"`
	}
	if !decode(w, r, &req) {
		return
	}
	valid := "0123456789*#ABCD"
	var f func(string) error
	switch {
	case kind == line.FXO && (req.Mode == "" || req.Mode == "dtmf"):
		f = b.Exchange(n).DialDTMF
	case kind == line.FXO:
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("mode: the far end of %s dials dtmf only, not %q", name, req.Mode))
		return
	case req.Mode == "" || req.Mode == "dtmf":
		f = b.Phone(n).DialDTMF
	case req.Mode == "pulse":
		valid, f = "0123456789", b.Phone(n).DialPulse
	default:
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("mode: want dtmf or pulse, not %q", req.Mode))
		return
	}
	switch {
	case req.Digits == "":
		WriteError(w, http.StatusBadRequest, "digits: required")
		return
	case len(req.Digits) > maxDialDigits:
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("digits: at most %d", maxDialDigits))
		return
	case strings.Trim(req.Digits, valid) != "":
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("digits: %q has a key %s dialling cannot send (want %s)", req.Digits, orDTMF(req.Mode), valid))
		return
	}
	if kind == line.FXS && !b.Phone(n).State().OffHook {
		WriteError(w, http.StatusConflict, fmt.Sprintf("port %s: the phone is on hook: lift it first", name))
		return
	}
	if kind == line.FXO {
		if s := b.Exchange(n).State(); !s.OffHook || s.FarEnd != "" {
			WriteError(w, http.StatusConflict, fmt.Sprintf("port %s: %v: the box does not hold the line", name, sim.ErrNoCall))
			return
		}
	}
	p.background(w, b, name, "dial", func() error { return f(req.Digits) })
}

func orDTMF(mode string) string {
	if mode == "" {
		return "dtmf"
	}
	return mode
}

func (p *BoardPanel) flash(w http.ResponseWriter, r *http.Request, b *sim.Board) {
	ph, name, ok := phone(w, r, b, "flash")
	if !ok {
		return
	}
	if !ph.State().OffHook {
		WriteError(w, http.StatusConflict, fmt.Sprintf("port %s: the phone is on hook: lift it first", name))
		return
	}
	p.background(w, b, name, "flash", ph.Flash)
}

func (p *BoardPanel) tone(w http.ResponseWriter, r *http.Request, b *sim.Board) {
	kind, n, _, ok := device(w, r, b)
	if !ok {
		return
	}
	var req struct {
		Hz   *float64 `json:"hz"`
		DBm0 *float64 `json:"dbm0"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Hz == nil {
		WriteError(w, http.StatusBadRequest, "hz: required (0 for silence)")
		return
	}
	if *req.Hz < 0 || *req.Hz >= hearRate/2 {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("hz: want 0 to %d", hearRate/2-1))
		return
	}
	level := -15.0
	if req.DBm0 != nil {
		if *req.DBm0 < minToneDBm0 || *req.DBm0 > maxToneDBm0 {
			WriteError(w, http.StatusBadRequest, fmt.Sprintf("dbm0: want %d to %d", minToneDBm0, maxToneDBm0))
			return
		}
		level = *req.DBm0
	}
	src := sim.Sine(*req.Hz, level)
	if *req.Hz == 0 {
		src = nil
	}
	if kind == line.FXS {
		b.Phone(n).SetMic(src)
	} else {
		b.Exchange(n).SetMic(src)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *BoardPanel) hear(w http.ResponseWriter, r *http.Request, b *sim.Board) {
	kind, n, _, ok := device(w, r, b)
	if !ok {
		return
	}
	ms := defaultHearMS
	if v := r.URL.Query().Get("ms"); v != "" {
		var err error
		if ms, err = strconv.Atoi(v); err != nil || ms < 20 || ms > maxHearMS {
			WriteError(w, http.StatusBadRequest, fmt.Sprintf("ms: want 20 to %d", maxHearMS))
			return
		}
	}
	d := time.Duration(ms) * time.Millisecond
	if kind == line.FXS {
		WriteJSON(w, http.StatusOK, p.hearPhone(b, b.Phone(n), d))
		return
	}
	WriteJSON(w, http.StatusOK, p.hearOf(b, b.Exchange(n).Heard, d))
}

func (p *BoardPanel) hearOf(b *sim.Board, heard func(time.Duration) []int16, d time.Duration) hearing {
	zone, err := tone.Zone(b.Zone())
	if err != nil {
		zone, _ = tone.Zone("us")
	}
	recent := heard(max(d, cadenceSpan))
	pcm := recent[max(len(recent)-int(d*hearRate/time.Second), 0):]
	return listen(zone, pcm, recent)
}

func (p *BoardPanel) hearPhone(b *sim.Board, ph *sim.Phone, d time.Duration) hearing {
	h := p.hearOf(b, ph.Heard, d)
	if p.DecodeCallerID != nil {
		if pcm := ph.OnHookAudio(); len(pcm) > 0 {
			if num, name, ok := p.DecodeCallerID(b.Zone(), pcm); ok {
				h.CallerID = &callerID{Number: num, Name: name}
			}
		}
	}
	return h
}

func (p *BoardPanel) ring(w http.ResponseWriter, r *http.Request, b *sim.Board) {
	x, name, ok := exchange(w, r, b, "ring")
	if !ok {
		return
	}
	var req struct {
		Number string `json:"number"`
		Name   string `json:"name"`
	}
	if !decode(w, r, &req) {
		return
	}
	switch {
	case len(req.Number) > maxDialDigits:
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("number: at most %d characters", maxDialDigits))
		return
	case strings.Trim(req.Number, "+0123456789*#") != "":
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("number: %q: want digits, with + * # allowed", req.Number))
		return
	case len([]rune(req.Name)) > maxNameLen:
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("name: at most %d characters", maxNameLen))
		return
	case strings.IndexFunc(req.Name, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0:
		WriteError(w, http.StatusBadRequest, "name: has a character that is not printable")
		return
	}
	zone, err := tone.Zone(b.Zone())
	if err != nil {
		zone, _ = tone.Zone("us")
	}
	var cid []int16
	if p.CallerIDAudio != nil && (req.Number != "" || req.Name != "") {
		cid = p.CallerIDAudio(b.Zone(), req.Number, req.Name)
	}
	if err := x.Ring(zone.RingCadence(), cid); err != nil {
		p.conflict(w, name, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// conflict answers a control the line's state refuses (409), or a failure
// of the board (503).
func (p *BoardPanel) conflict(w http.ResponseWriter, port string, err error) {
	for _, known := range []error{sim.ErrRinging, sim.ErrLineBusy, sim.ErrNoBattery, sim.ErrNoCall, sim.ErrOnHook} {
		if errors.Is(err, known) {
			WriteError(w, http.StatusConflict, fmt.Sprintf("port %s: %v", port, known))
			return
		}
	}
	WriteError(w, http.StatusServiceUnavailable, fmt.Sprintf("port %s: %v", port, err))
}

func (p *BoardPanel) hangup(w http.ResponseWriter, r *http.Request, b *sim.Board) {
	x, name, ok := exchange(w, r, b, "hangup")
	if !ok {
		return
	}
	var req struct {
		How string `json:"how"`
	}
	if !decode(w, r, &req) {
		return
	}
	valid := false
	for _, h := range sim.HangUps {
		valid = valid || h == req.How
	}
	if !valid {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("how: want one of %s, not %q", strings.Join(sim.HangUps, ", "), req.How))
		return
	}
	if err := x.HangUp(req.How); err != nil {
		if errors.Is(err, sim.ErrNoCall) {
			p.conflict(w, name, err)
			return
		}
		WriteError(w, http.StatusConflict, fmt.Sprintf("port %s: %v", name, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *BoardPanel) battery(w http.ResponseWriter, r *http.Request, b *sim.Board) {
	x, _, ok := exchange(w, r, b, "battery")
	if !ok {
		return
	}
	var req struct {
		On *bool `json:"on"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.On == nil {
		WriteError(w, http.StatusBadRequest, "on: required (true connects the battery, false removes it)")
		return
	}
	x.SetBattery(*req.On)
	w.WriteHeader(http.StatusNoContent)
}

func (p *BoardPanel) parallel(w http.ResponseWriter, r *http.Request, b *sim.Board) {
	x, _, ok := exchange(w, r, b, "parallel")
	if !ok {
		return
	}
	var req struct {
		OffHook *bool `json:"off_hook"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.OffHook == nil {
		WriteError(w, http.StatusBadRequest, "off_hook: required (true lifts the parallel phone)")
		return
	}
	x.SetParallelOffHook(*req.OffHook)
	w.WriteHeader(http.StatusNoContent)
}
