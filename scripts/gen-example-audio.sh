#!/bin/sh
# Regenerate the audio files the example sites in docs/examples name
# (docs/examples/prompts, docs/examples/moh): short espeak-ng speech and
# sox-made music, kept small (8 kHz A-law WAV, 32 kbit/s MP3) so that
# `ringbox check docs/examples/*.yaml` and the import tests have real audio.
# Needs espeak-ng and sox with MP3 support (apt-get install espeak-ng sox
# libsox-fmt-mp3).
set -eu
cd "$(dirname "$0")/../docs/examples"
for t in espeak-ng sox; do
  command -v "$t" >/dev/null || { echo "gen-example-audio: $t is not installed" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p prompts moh

# say VOICE TEXT OUT: speech as an 8 kHz A-law WAV, or a 32 kHz MP3.
say() {
  espeak-ng -v "$1" -s 160 -w "$tmp/s.wav" "$2"
  case "$3" in
    *.wav) sox "$tmp/s.wav" -r 8000 -c 1 -e a-law "$3" ;;
    *.mp3) sox "$tmp/s.wav" -r 32000 -c 1 -C 32 "$3" ;;
  esac
}
# music OUT NOTES...: a soft arpeggio, a quarter second a note.
music() {
  out=$1; shift
  parts=""
  i=0
  for n in "$@"; do
    sox -n -r 32000 -c 1 "$tmp/n$i.wav" synth 0.5 pluck "$n" fade 0 0.5 0.3 vol 0.5
    parts="$parts $tmp/n$i.wav"
    i=$((i + 1))
  done
  # shellcheck disable=SC2086
  sox $parts -C 32 "$out"
}

say fr "Bienvenue chez Brightline." prompts/welcome-fr.wav
say fr "Support technique: tapez un ou deux." prompts/support-menu-fr.wav
say fr "Découvrez nos offres du mois." prompts/sales-offer-fr.mp3
say fr "Nous sommes fermés. Rappelez-nous demain." prompts/closed-fr.wav
say en-us "For sales, press one. For support, press two." prompts/main-menu.mp3
say en-us "Acme has served the valley since nineteen ninety." prompts/about-us.mp3
music moh/calm1.mp3 C4 E4 G4 C5 G4 E4
music moh/calm2.mp3 A3 C4 E4 A4 E4 C4
music moh/track1.mp3 F3 A3 C4 F4 C4 A3
music moh/track2.mp3 G3 B3 D4 G4 D4 B3
du -ch prompts/* moh/* | tail -1
