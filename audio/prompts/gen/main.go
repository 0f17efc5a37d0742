// Command gen renders Ringbox's built-in prompts with espeak-ng into
// audio/prompts/<lang>/*.wav (16 kHz mono µ-law), using the repository's
// own importer (audio/sound: resampling and level) so the result matches
// what an uploaded prompt would become. scripts/gen-prompts.sh runs it.
//
//	go run ./audio/prompts/gen -out audio/prompts
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"

	"ringbox/audio/g711"
	"ringbox/audio/prompts/internal/words"
	"ringbox/audio/sound"
	"ringbox/audio/tone"
	"ringbox/audio/wav"
)

// voices: espeak-ng voice and speed (words per minute) per language.
var voices = map[string]struct {
	voice string
	speed int
}{
	"en": {"en-us", 155},
	"fr": {"fr-fr", 150},
}

// texts: prompt id → text per language. The ids must match prompts.IDs.
var texts = map[string]map[string]string{
	"en": {
		"main-menu":          "Thank you for calling. For sales, press 1. For service, press 2. For accounts, press 3. To hear these options again, press 9.",
		"invalid-option":     "Sorry, that is not a valid option.",
		"please-hold":        "Please hold while we connect your call.",
		"recording-notice":   "This call may be recorded for quality and training purposes.",
		"goodbye":            "Thank you for calling. Goodbye.",
		"call-for-office":    "You have a call for the office.",
		"accept-decline":     "Press 1 to accept, or 2 to decline.",
		"call-taken":         "The call was taken by someone else.",
		"voicemail-greeting": "The person you are calling is not available. Please leave a message after the tone.",
		"position-prefix":    "You are caller number",
		"position-suffix":    "in the queue.",
		"wait-prefix":        "Your estimated waiting time is about",
		"wait-one-minute":    "Your estimated waiting time is about one minute.",
		"minutes":            "minutes.",
		"messages-prefix":    "You have",
		"new-message":        "new message.",
		"new-messages":       "new messages.",
		"no-messages":        "You have no new messages.",
		"vm-menu":            "For the next message, press 1. To hear it again, press 2. To delete it, press 3.",
		"message-deleted":    "Message deleted.",
		"no-more-messages":   "There are no more messages.",
		"all-agents-busy":    "All of our agents are busy. Please stay on the line.",
		// Voicemail by phone (issue 14 part 10): logging in, the options
		// menu, greetings and the PIN.
		"vm-enter-box":         "Mailbox number, then pound.",
		"vm-enter-pin":         "PIN, then pound.",
		"vm-login-incorrect":   "Incorrect.",
		"vm-options-hint":      "Options: 0.",
		"vm-options":           "Greeting: 1. Busy greeting: 2. Name: 3. PIN: 4. Back: star.",
		"vm-record-after-beep": "Speak after the tone, then pound.",
		"vm-keep-rerecord":     "Keep: 1. Again: 2.",
		"vm-saved":             "Saved.",
		"vm-new-pin":           "New PIN, 4 to 10 digits, then pound.",
		"vm-repeat-pin":        "Again, then pound.",
		"vm-pin-mismatch":      "PIN not changed.",
		"vm-pin-changed":       "PIN changed.",
		"vm-is-unavailable":    "is not available. Leave a message after the tone.",
		"vm-is-busy":           "is on the phone. Leave a message after the tone.",
	},
	"fr": {
		"main-menu":            "Merci de votre appel. Pour le service commercial, tapez 1. Pour le service client, tapez 2. Pour la comptabilité, tapez 3. Pour réécouter ces choix, tapez 9.",
		"invalid-option":       "Désolé, ce choix n'est pas valide.",
		"please-hold":          "Veuillez patienter, nous transférons votre appel.",
		"recording-notice":     "Cet appel est susceptible d'être enregistré à des fins de qualité et de formation.",
		"goodbye":              "Merci de votre appel. Au revoir.",
		"call-for-office":      "Vous avez un appel pour le bureau.",
		"accept-decline":       "Tapez 1 pour accepter, ou 2 pour refuser.",
		"call-taken":           "L'appel a été pris par quelqu'un d'autre.",
		"voicemail-greeting":   "Votre correspondant n'est pas disponible. Veuillez laisser un message après le signal sonore.",
		"position-prefix":      "Vous êtes l'appelant numéro",
		"position-suffix":      "dans la file d'attente.",
		"wait-prefix":          "Votre temps d'attente estimé est d'environ",
		"wait-one-minute":      "Votre temps d'attente estimé est d'environ une minute.",
		"minutes":              "minutes.",
		"messages-prefix":      "Vous avez",
		"new-message":          "nouveau message.",
		"new-messages":         "nouveaux messages.",
		"no-messages":          "Vous n'avez aucun nouveau message.",
		"vm-menu":              "Pour le message suivant, tapez 1. Pour le réécouter, tapez 2. Pour le supprimer, tapez 3.",
		"message-deleted":      "Message supprimé.",
		"no-more-messages":     "Il n'y a plus de messages.",
		"all-agents-busy":      "Tous nos conseillers sont en ligne. Merci de patienter.",
		"vm-enter-box":         "Numéro de boîte, puis dièse.",
		"vm-enter-pin":         "Code, puis dièse.",
		"vm-login-incorrect":   "Incorrect.",
		"vm-options-hint":      "Options : 0.",
		"vm-options":           "Annonce : 1. Annonce occupé : 2. Nom : 3. Code : 4. Retour : étoile.",
		"vm-record-after-beep": "Parlez après le bip, puis dièse.",
		"vm-keep-rerecord":     "Garder : 1. Refaire : 2.",
		"vm-saved":             "Enregistré.",
		"vm-new-pin":           "Nouveau code, 4 à 10 chiffres, puis dièse.",
		"vm-repeat-pin":        "Encore, puis dièse.",
		"vm-pin-mismatch":      "Code inchangé.",
		"vm-pin-changed":       "Code changé.",
		"vm-is-unavailable":    "n'est pas disponible. Laissez un message après le bip.",
		"vm-is-busy":           "est en ligne. Laissez un message après le bip.",
	},
}

func main() {
	out := flag.String("out", "audio/prompts", "directory to write <lang>/<id>.wav into")
	flag.Parse()
	if err := run(context.Background(), *out); err != nil {
		slog.Error("gen prompts", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out string) error {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		return fmt.Errorf("espeak-ng is needed to generate prompts: %w", err)
	}
	var total int64
	for lang, v := range voices {
		dir := filepath.Join(out, lang)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		jobs := map[string]string{}
		for id, text := range texts[lang] {
			jobs[id] = text
		}
		// Digits said one by one (a park slot "7-0-1") need a zero.
		jobs["number-0"] = map[string]string{"en": "zero", "fr": "zéro"}[lang]
		for n := 1; n <= 99; n++ {
			if lang == "fr" {
				jobs[fmt.Sprintf("number-%d", n)] = words.French(n, false)
				if words.French(n, true) != words.French(n, false) {
					jobs[fmt.Sprintf("number-f-%d", n)] = words.French(n, true)
				}
			} else {
				jobs[fmt.Sprintf("number-%d", n)] = words.English(n)
			}
		}
		for id, text := range jobs {
			pcm, err := speak(ctx, v.voice, v.speed, text)
			if err != nil {
				return fmt.Errorf("%s %s: %w", lang, id, err)
			}
			n, err := write(filepath.Join(dir, id+".wav"), pcm)
			if err != nil {
				return err
			}
			total += n
		}
		n, err := write(filepath.Join(dir, "voicemail-beep.wav"), beep())
		if err != nil {
			return err
		}
		total += n
	}
	slog.Info("prompts written", "dir", out, "bytes", total)
	return nil
}

// speak runs espeak-ng and imports its output like an upload: 16 kHz,
// peak −3 dBFS, then trims silence at both ends.
func speak(ctx context.Context, voice string, speed int, text string) ([]int16, error) {
	cmd := exec.CommandContext(ctx, "espeak-ng", "-v", voice, "-s", fmt.Sprint(speed), "--stdout", text)
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("espeak-ng: %w", err)
	}
	c, err := sound.Import(bytes.NewReader(b), "espeak-ng output", 0)
	if err != nil {
		return nil, err
	}
	return trim(c.PCM16k, 16000), nil
}

// trim cuts silence (below −45 dBFS) at both ends, keeping 40 ms.
func trim(s []int16, rate int) []int16 {
	const floor = 184
	keep := rate * 40 / 1000
	first, last := -1, -1
	for i, v := range s {
		if v > floor || v < -floor {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return s
	}
	return s[max(0, first-keep):min(len(s), last+keep+1)]
}

// beep is the voicemail record tone: 1 kHz for 400 ms at −10 dBm0, with
// 5 ms ramps.
func beep() []int16 {
	const rate, n, ramp = 16000, 6400, 80
	a := tone.Amplitude(-10)
	s := make([]int16, n)
	for i := range s {
		g := 1.0
		if i < ramp {
			g = float64(i) / ramp
		} else if n-1-i < ramp {
			g = float64(n-1-i) / ramp
		}
		s[i] = int16(math.Round(a * g * math.Sin(2*math.Pi*1000*float64(i)/rate)))
	}
	return s
}

// write stores pcm as a 16 kHz µ-law WAV file (format tag 7): half the
// size of 16-bit PCM, which keeps the embedded prompts of both languages
// under 5 MB, and still a file any player opens.
func write(path string, pcm []int16) (int64, error) {
	data := make([]byte, len(pcm))
	g711.EncodeUlaw(data, pcm)
	var b bytes.Buffer
	h := make([]byte, 0, 58)
	h = append(h, "RIFF"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(50+len(data)+len(data)&1))
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 18)
	h = binary.LittleEndian.AppendUint16(h, 7) // µ-law
	h = binary.LittleEndian.AppendUint16(h, 1)
	h = binary.LittleEndian.AppendUint32(h, 16000)
	h = binary.LittleEndian.AppendUint32(h, 16000)
	h = binary.LittleEndian.AppendUint16(h, 1)
	h = binary.LittleEndian.AppendUint16(h, 8)
	h = binary.LittleEndian.AppendUint16(h, 0) // no extra format bytes
	h = append(h, "fact"...)
	h = binary.LittleEndian.AppendUint32(h, 4)
	h = binary.LittleEndian.AppendUint32(h, uint32(len(data)))
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(len(data)))
	b.Write(h)
	b.Write(data)
	if len(data)%2 == 1 {
		b.WriteByte(0)
	}
	if _, f, err := wav.DecodeMono(bytes.NewReader(b.Bytes()), 0); err != nil || f.Encoding != wav.ULaw {
		return 0, fmt.Errorf("written prompt does not read back: %v", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return 0, fmt.Errorf("write prompt: %w", err)
	}
	return int64(b.Len()), nil
}
