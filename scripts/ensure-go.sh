#!/usr/bin/env bash
# Makes sure a Go toolchain new enough for the project (go.mod's go line) is
# on PATH; tells how to get one when it is not.
set -euo pipefail
need=$(awk '/^go /{print $2}' "$(dirname "$0")/../go.mod")
if ! command -v go >/dev/null 2>&1; then
  echo "Go $need or newer is needed: install it from https://go.dev/dl/ (Debian's golang package is too old)." >&2
  exit 1
fi
have=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
  echo "Go $need or newer is needed, found $have: install it from https://go.dev/dl/." >&2
  exit 1
fi
