package tone

import "time"

// Tone plans per zone, in the notation of dahdi-tools zonedata.c and
// Asterisk indications.conf: comma-separated parts "freqs/ms", where freqs
// is "f1+f2" (a sum), "f1*f2" (f1 amplitude-modulated by f2) or "0"
// (silence); a part with no "/ms" lasts for ever; a part starting with "!"
// plays once and is not repeated.
//
// Sources: dial, busy, ringback and congestion for us, uk, de and fr, and
// the ring cadences of all zones, are the zonedata.c values recorded in
// the project notes. The rest are from memory of zonedata.c / ITU-T E.180
// Supplement 2 and are marked "unsure" where I could not check them.
// Confirm (three short beeps, once) is Ringbox's own choice: zonedata has
// no confirmation tone.
type zonePlan struct {
	ring  []time.Duration // FXS ring cadence: on, off, on, off…
	tones map[Kind]string
}

func ms(v ...int) []time.Duration {
	d := make([]time.Duration, len(v))
	for i, x := range v {
		d[i] = time.Duration(x) * time.Millisecond
	}
	return d
}

// usPlan is the North American plan, shared by us and ca.
var usPlan = zonePlan{ms(2000, 4000), map[Kind]string{
	Dial:        "350+440",
	Ringback:    "440+480/2000,0/4000",
	Busy:        "480+620/500,0/500",
	Congestion:  "480+620/250,0/250",
	CallWaiting: "440/300,0/10000",
	Confirm:     "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100",
	Stutter:     "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440",
}}

var plans = map[string]zonePlan{
	"us": usPlan,
	// Canada uses the North American plan (same as us; zonedata.c has no
	// separate entry).
	"ca": usPlan,
	"uk": {ms(400, 200, 400, 2000), map[Kind]string{
		Dial:        "350+440",
		Ringback:    "400+450/400,0/200,400+450/400,0/2000",
		Busy:        "400/375,0/375",
		Congestion:  "400/400,0/350,400/225,0/525", // unsure
		CallWaiting: "400/100,0/4000",              // unsure
		Confirm:     "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100",
		Stutter:     "350+440/750,440/750", // unsure
	}},
	"de": {ms(1000, 4000), map[Kind]string{
		Dial:        "425",
		Ringback:    "425/1000,0/4000",
		Busy:        "425/480,0/480",
		Congestion:  "425/240,0/240",
		CallWaiting: "!425/200,!0/200,!425/200,!0/5000,425/200,0/200,425/200,0/5000", // unsure
		Confirm:     "!425/100,!0/100,!425/100,!0/100,!425/100",
		Stutter:     "425+400", // unsure
	}},
	"fr": {ms(1500, 3500), map[Kind]string{
		Dial:        "440",
		Ringback:    "440/1500,0/3500", // unsure
		Busy:        "440/500,0/500",
		Congestion:  "440/250,0/250",   // unsure
		CallWaiting: "440/300,0/10000", // unsure
		Confirm:     "!440/100,!0/100,!440/100,!0/100,!440/100",
		Stutter:     "!440/100,!0/100,!440/100,!0/100,!440/100,!0/100,!440/100,!0/100,!440/100,!0/100,!440/100,!0/100,440", // unsure
	}},
	"nl": {ms(1000, 4000), map[Kind]string{
		Dial:        "425",
		Ringback:    "425/1000,0/4000",
		Busy:        "425/500,0/500",
		Congestion:  "425/250,0/250",
		CallWaiting: "425/500,0/9500", // unsure
		Confirm:     "!425/100,!0/100,!425/100,!0/100,!425/100",
		Stutter:     "425/500,0/50", // unsure
	}},
	"au": {ms(400, 200, 400, 2000), map[Kind]string{
		Dial:        "413+438",
		Ringback:    "413+438/400,0/200,413+438/400,0/2000",
		Busy:        "425/375,0/375",
		Congestion:  "425/375,0/375,420/375,0/375",  // unsure
		CallWaiting: "425/200,0/200,425/200,0/4400", // unsure
		Confirm:     "!413+438/100,!0/100,!413+438/100,!0/100,!413+438/100",
		Stutter:     "413+438/100,0/40", // unsure
	}},
	"jp": {ms(1000, 2000), map[Kind]string{
		Dial:        "400",
		Ringback:    "400*16/1000,0/2000", // zonedata approximates with 400+15
		Busy:        "400/500,0/500",
		Congestion:  "400/500,0/500",
		CallWaiting: "400*16/500,0/8000", // unsure
		Confirm:     "!400/100,!0/100,!400/100,!0/100,!400/100",
		Stutter:     "!400/100,!0/100,!400/100,!0/100,!400/100,!0/100,!400/100,!0/100,!400/100,!0/100,!400/100,!0/100,400", // unsure
	}},
	"it": {ms(1000, 4000), map[Kind]string{
		Dial:        "425/200,0/200,425/600,0/1000",
		Ringback:    "425/1000,0/4000",
		Busy:        "425/500,0/500",
		Congestion:  "425/200,0/200",
		CallWaiting: "425/400,0/100,425/250,0/100,425/150,0/14000", // unsure
		Confirm:     "!425/100,!0/100,!425/100,!0/100,!425/100",
		Stutter:     "470/400,425/400", // unsure
	}},
	"es": {ms(1500, 3000), map[Kind]string{
		Dial:        "425",
		Ringback:    "425/1500,0/3000",
		Busy:        "425/200,0/200",
		Congestion:  "425/200,0/200,425/200,0/200,425/200,0/600", // unsure
		CallWaiting: "425/175,0/175,425/175,0/3500",              // unsure
		Confirm:     "!425/100,!0/100,!425/100,!0/100,!425/100",
		Stutter:     "!425/200,!0/200,!425/200,!0/200,!425/200,!0/200,425", // unsure
	}},
}
