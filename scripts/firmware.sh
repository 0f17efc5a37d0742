#!/usr/bin/env bash
# Cross-builds ringbox for arm64 and armv7 with cgo (Debian's cross gcc, see
# docs/firmware.md) and prints the sizes. Installs the cross compilers when
# missing and running as root.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-dev}
need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v arm-linux-gnueabihf-gcc >/dev/null || need+=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "firmware: need ${need[*]} (run as root or apt-get install them)" >&2; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p dist
ld="-s -w -X main.version=$version"
CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc \
  go build -trimpath -tags malgo -ldflags "$ld" -o dist/ringbox-linux-arm64 ./firmware/cmd/ringbox
CGO_ENABLED=1 GOOS=linux GOARCH=arm GOARM=7 CC=arm-linux-gnueabihf-gcc \
  go build -trimpath -tags malgo -ldflags "$ld" -o dist/ringbox-linux-armv7 ./firmware/cmd/ringbox
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -ldflags "$ld" -o dist/ringbox-linux-arm64-nocgo ./firmware/cmd/ringbox
echo "firmware binaries:"
for f in dist/ringbox-linux-*; do
  awk -v f="$f" -v b="$(stat -c %s "$f")" 'BEGIN{printf "  %-36s %6.1f MB (%d bytes)\n", f, b/1048576, b}'
done
