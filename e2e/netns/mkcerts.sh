#!/usr/bin/env bash
# Test PKI for the netns e2e: a throwaway CA and leaf certificates.
#
#   mkcerts.sh OUTDIR
#
# Writes into OUTDIR:
#   ca.pem ca.key            test CA (import into NSS with trust "C,,")
#   node.pem node.key        SAN IP:10.102.1.2              (HTTPS on the node)
#   turn.pem turn.key        SAN IP:10.102.{1,2,3}.1        (coturn TLS on the router)
#   wrong.pem wrong.key      SAN IP:10.102.1.99, DNS:wrong.invalid (negative test)
#   nssdb/                   NSS db (sql:) with ca.pem trusted "C,," as "r102-test-ca";
#                            copy/symlink it to $HOME/.pki/nssdb for Chromium.
#
# Leaves are EC P-256, CA-signed, serverAuth EKU, 30-day validity (Chromium
# rejects leaves valid > 398 days only for public CAs, but keep it short
# anyway). R102_NET overrides the "10.102" prefix like topology.sh.
set -euo pipefail
OUT=${1:?usage: mkcerts.sh OUTDIR}
NET=${R102_NET:-10.102}
mkdir -p "$OUT"
cd "$OUT"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout ca.key -out ca.pem -days 30 -subj "/CN=r102 e2e test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

leaf() { # name CN SAN
  local name=$1 cn=$2 san=$3
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$name.key" -out "$name.csr" -subj "/CN=$cn" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 30 -sha256 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}
leaf node  "$NET.1.2" "IP:$NET.1.2"
leaf turn  "$NET.3.1" "IP:$NET.1.1,IP:$NET.2.1,IP:$NET.3.1"
leaf wrong "wrong.invalid" "IP:$NET.1.99,DNS:wrong.invalid"
# coturn drops privileges? Not when run as root without --proc-user; but keep
# keys readable only by root.
chmod 600 ./*.key

rm -rf nssdb
mkdir -p nssdb
certutil -N -d sql:nssdb --empty-password
certutil -A -d sql:nssdb -t "C,," -n r102-test-ca -i ca.pem
