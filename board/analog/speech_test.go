package analog

import (
	"bytes"
	"os/exec"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/audio/resample"
	"ringbox/audio/wav"
)

// speech renders about d of espeak-ng speech at 8 kHz in several voices
// and levels (the DTMF and call-progress tests' corpus).
func speech(t *testing.T, d time.Duration) []int16 {
	t.Helper()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Fatal("espeak-ng is required by this test (apt-get install espeak-ng; make test installs it)")
	}
	text := "Thank you for calling. All of our agents are busy helping other customers. Please stay on the line " +
		"and your call will be answered in the order it was received. One, two, three, four, five, six, seven. " +
		"Hello? Hello! Yes, I can hear you. Could you repeat the number please? Mmmm, hmmm, aaah, ooooh. Nooo, I said noooo."
	voices := []string{"en-us", "en-gb+f3", "de", "fr+f2", "en-us+m3"}
	var out []int16
	for i := 0; time.Duration(len(out))*time.Second/8000 < d; i++ {
		b, err := exec.Command("espeak-ng", "-v", voices[i%len(voices)], "-s", strconv.Itoa(130+(i*37)%100), "--stdout", text).Output()
		if err != nil {
			t.Fatalf("espeak-ng: %v", err)
		}
		pcm, f, err := wav.DecodeMono(bytes.NewReader(b), 0)
		if err != nil {
			t.Fatal(err)
		}
		r := resample.New(f.Rate, 8000)
		pcm8 := r.Flush(r.Process(nil, pcm))
		g := []float64{1, 2.5, 0.4}[i%3]
		for j, s := range pcm8 {
			pcm8[j] = int16(max(-32768, min(32767, float64(s)*g)))
		}
		out = append(out, pcm8...)
	}
	return out
}

// A far end that talks is never taken for a hang-up; its busy tone is.
func TestFXONoFalseHangUpOnSpeech(t *testing.T) {
	talk := speech(t, 90*time.Second)
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "us")
		r.site.Trunks[1].SilenceTimeout = 10_000_000_000 // 10s: pauses in speech are shorter
		leg := r.dialOut(t, "911")
		x := r.b.Exchange(1)
		x.SetMic(&samples{s: talk})
		select {
		case <-leg.Done():
			t.Fatalf("the call ended during the far end's speech: %v", leg.Err())
		case <-time.After(time.Duration(len(talk)) * time.Second / 8000):
		}
		if err := x.HangUp("busy"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-leg.Done():
		case <-time.After(2 * time.Second):
			t.Fatal("busy tone after the speech not taken for a hang-up within 2 s")
		}
	})
}
