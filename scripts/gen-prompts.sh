#!/bin/sh
# Regenerate the built-in prompts (audio/prompts/en, audio/prompts/fr) with
# espeak-ng, converted by Ringbox's own importer and resampler.
# Needs espeak-ng (apt-get install espeak-ng).
set -eu
cd "$(dirname "$0")/.."
command -v espeak-ng >/dev/null || { echo "gen-prompts: espeak-ng is not installed (apt-get install espeak-ng)" >&2; exit 1; }
rm -f audio/prompts/en/*.wav audio/prompts/fr/*.wav
GOFLAGS="${GOFLAGS:--mod=mod}" go run ./audio/prompts/gen -out audio/prompts
du -sh audio/prompts/en audio/prompts/fr
