#!/usr/bin/env bash
# Makes the development signing keys on first use, into keys/ (git-ignored;
# never commit them): a CA (keys/ca.cert.pem, the image's RAUC keyring) and
# a signing certificate it issued (keys/signing.{key,cert}.pem, what
# scripts/bundle.sh signs bundles with). A production build passes its own
# with KEYS_DIR. Prints the directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${KEYS_DIR:-keys}
if [ ! -f "$dir/ca.cert.pem" ] || [ ! -f "$dir/signing.cert.pem" ] || [ ! -f "$dir/signing.key.pem" ]; then
  mkdir -p "$dir"
  chmod 700 "$dir"
  echo "devkeys: making a development CA and signing key in $dir/ (keep them; never commit them)" >&2
  openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days 3650 -subj "/O=Ringbox development/CN=Ringbox development CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$dir/ca.key.pem" -out "$dir/ca.cert.pem" 2>/dev/null
  openssl req -newkey rsa:3072 -nodes -sha256 -subj "/O=Ringbox development/CN=Ringbox development bundle signing" \
    -keyout "$dir/signing.key.pem" -out "$dir/signing.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' >"$dir/signing.ext"
  openssl x509 -req -sha256 -days 3650 -in "$dir/signing.csr" -CA "$dir/ca.cert.pem" -CAkey "$dir/ca.key.pem" \
    -CAcreateserial -extfile "$dir/signing.ext" -out "$dir/signing.cert.pem" 2>/dev/null
  rm -f "$dir/signing.csr" "$dir/signing.ext"
  chmod 600 "$dir"/*.key.pem
fi
echo "$dir"
