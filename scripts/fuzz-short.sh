#!/usr/bin/env bash
# The short fuzz run of `make test`: each fuzz target of untrusted input
# for about 2 s (scripts/fuzz-short.sh 5 runs five times as long).
# Every fuzz target also runs its whole seed corpus (testdata/fuzz/FuzzName
# and its f.Add seeds) as a plain test in `go test ./...`; `make fuzz`
# fuzzes every target for 30 s. docs/testing.md says why these targets.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-1}
# package: target=executions. The budgets are execution counts, about 2 s
# each on this 2-core VM under load: a -fuzztime duration races Go's
# fuzzing coordinator, which then fails a target with "context deadline
# exceeded" and no input when the machine is busy (go.dev/issue/75804);
# a count only runs slower. The coverage-instrumented build of a package
# costs more than its fuzzing, so each package is built once
# (go test -c -fuzz) and its binary runs each of its targets.
targets=(
  "firmware/sip: FuzzServerDatagram=1500 FuzzStreamFrames=8000" # SIP through sipgo's parser and our handlers; TCP streams framed
  "firmware/media: FuzzParseSDP=30000 FuzzRTPEvents=30000"    # SDP, RTP and RFC 4733 events
  "firmware/site: FuzzParse=15000"                            # the site file, parsed and validated
  "web: FuzzConsoleForm=150 FuzzUploads=300 FuzzSiteImport=400" # console forms, uploads, site import
)
root=$PWD
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cache=$(go env GOCACHE)/fuzz/ringbox
start=$SECONDS
for line in "${targets[@]}"; do
  pkg=${line%%:*}
  exe=$bin/$(basename "$pkg").test
  t0=$SECONDS
  go test -c -o "$exe" -fuzz . "./$pkg"
  for tn in ${line#*:}; do
    f=${tn%=*}
    n=$((${tn#*=} * scale))
    t1=$SECONDS
    # Run in the package's directory, where a crasher is saved
    # (testdata/fuzz/$f); the interesting inputs go where go test -fuzz
    # keeps them. -fuzzminimizetime 0: minimising each new input (60 s by
    # default) would take the whole run.
    if ! (cd "$root/$pkg" && "$exe" -test.run '^$' -test.fuzz "^$f\$" -test.fuzztime "${n}x" \
      -test.fuzzminimizetime 0s -test.fuzzcachedir "$cache/$pkg" -test.timeout 5m >"$bin/out" 2>&1); then
      cat "$bin/out"
      echo "fuzz $pkg $f failed: a crasher is saved under $pkg/testdata/fuzz/$f; fix the bug and keep it as a seed"
      exit 1
    fi
    echo "== fuzz $pkg $f: $n executions, $((SECONDS - t1)) s"
  done
  echo "== fuzz $pkg: $((SECONDS - t0)) s with its build"
done
echo "== fuzz: $((SECONDS - start)) s"
