#!/usr/bin/env bash
# Installs what the tests need when it is missing: SIPp, baresip, Chromium,
# espeak-ng, sox (with MP3), tshark, Node.js/npm, and playwright-core for
# the browser test. apt packages need root; without it, this says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A pkg=(
  [sipp]=sip-tester
  [baresip]=baresip
  [chromium]=chromium
  [espeak-ng]=espeak-ng
  [sox]=sox
  [node]=nodejs
  [npm]=npm
  # firmware/update's tests make real bundles with rauc (squashfs inside).
  [rauc]=rauc
  [mksquashfs]=squashfs-tools
  # The fault-injection tests put peers in network namespaces (ip) and
  # shape the link with netem where the kernel has it (tc).
  [ip]=iproute2
  [tc]=iproute2
  # The SIP edge's proof (firmware/cmd/ringbox/edge_e2e_test.go) attacks
  # the box with sipvicious's svwar and svcrack.
  [svcrack]=sipvicious
)
missing=()
for cmd in "${!pkg[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg[$cmd]}")
done
# baresip's modules, sox's formats: installed with their packages below.
# The site-audio tests make MP3s with sox: a sox without its MP3 format
# (libsox-fmt-mp3, in libsox-fmt-all) is missing something too.
if command -v sox >/dev/null 2>&1 && ! sox -h 2>&1 | grep 'AUDIO FILE FORMATS' | tr ' ' '\n' | grep -qx mp3; then
  missing+=(libsox-fmt-mp3)
fi
if [ ${#missing[@]} -gt 0 ]; then
  extra=(baresip-core libsox-fmt-all ca-certificates)
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: missing ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]} ${extra[*]}" >&2
    exit 1
  fi
  echo "test-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq -o DPkg::Lock::Timeout=300
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" "${extra[@]}" >/dev/null
fi
if [ ! -d web/e2e/node_modules/playwright-core ]; then
  echo "test-deps: npm install (playwright-core) in web/e2e"
  (cd web/e2e && npm install --no-audit --no-fund --silent)
fi
