#!/usr/bin/env bash
# The short fuzz run of `make test`: each fuzz target of untrusted input
# for a few seconds (default 2s; scripts/fuzz-short.sh 10s for longer).
# Every fuzz target also runs its whole seed corpus (testdata/fuzz/FuzzName
# and its f.Add seeds) as a plain test in `go test ./...`; `make fuzz`
# fuzzes every target for 30 s. docs/testing.md says why these targets.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-2s}
# package: targets. The coverage-instrumented build of a package costs
# more than its fuzzing, so each package is built once (go test -c -fuzz)
# and its binary runs each target.
targets=(
  "firmware/sip: FuzzServerDatagram"                 # SIP through sipgo's parser and our handlers
  "firmware/media: FuzzParseSDP FuzzRTPEvents"       # SDP, RTP and RFC 4733 events
  "firmware/site: FuzzParse"                         # the site file, parsed and validated
  "web: FuzzConsoleForm FuzzUploads FuzzSiteImport"  # console forms, uploads, site import
)
root=$PWD
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cache=$(go env GOCACHE)/fuzz/ringbox
start=$SECONDS
for line in "${targets[@]}"; do
  pkg=${line%%:*}
  exe=$bin/$(basename "$pkg").test
  echo "== fuzz build $pkg"
  go test -c -o "$exe" -fuzz . "./$pkg"
  for f in ${line#*:}; do
    echo "== fuzz $pkg $f ($t)"
    # Run in the package's directory, where a crasher is saved
    # (testdata/fuzz/$f); the interesting inputs go where go test -fuzz
    # keeps them. -fuzzminimizetime 0: minimising each new input (60 s by
    # default) would take the whole run.
    if ! (cd "$root/$pkg" && "$exe" -test.run '^$' -test.fuzz "^$f\$" -test.fuzztime "$t" \
      -test.fuzzminimizetime 0s -test.fuzzcachedir "$cache/$pkg" >"$bin/out" 2>&1); then
      cat "$bin/out"
      echo "fuzz $pkg $f failed: the input is under $pkg/testdata/fuzz/$f; fix the bug and keep it as a seed"
      exit 1
    fi
  done
done
echo "== fuzz: $((SECONDS - start)) s"
