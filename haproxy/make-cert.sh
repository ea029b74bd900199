#!/usr/bin/env bash
# Make a TLS certificate for ShareThings on a LAN name, for HAProxy.
#
#   haproxy/make-cert.sh [--out DIR] [--self-signed] [--days N] NAME [NAME|IP ...]
#
#   haproxy/make-cert.sh sharethings.local                 # local CA + server certificate
#   haproxy/make-cert.sh --out /etc/haproxy/certs pi.local 192.168.1.20
#
# Default (recommended): a small local certificate authority. The first run makes
# DIR/sharethings-ca.crt and DIR/sharethings-ca.key (keep the key private and offline if you
# can); every run issues a server certificate for the given names, signed by that CA.
# Install sharethings-ca.crt once on each phone/laptop (docs/deploy.md, "Certificates", says how); after that
# the browser trusts every certificate the CA signs, including renewals, with no warnings.
#
# --self-signed: one self-signed certificate, no CA. Browsers warn until you trust that very
# certificate on each device, and again after each renewal.
#
# Output: DIR/sharethings.pem, the chain followed by the private key, which is the single
# file HAProxy's `crt` wants; DIR/sharethings.crt, the certificate alone. Keys are ECDSA
# P-256. Server certificates last 825 days by default, the most that Apple devices accept
# for a certificate from a user-installed CA; renew before then (rerun the script and
# reload HAProxy). The first NAME is the subject; every NAME and IP goes into the
# subjectAltName, which is what browsers check.
set -euo pipefail

out=.
self_signed=0
days=825
names=()
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --self-signed) self_signed=1; shift ;;
        --days) days="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "make-cert: unknown option $1" >&2; exit 2 ;;
        *) names+=("$1"); shift ;;
    esac
done
[ ${#names[@]} -gt 0 ] || { echo "make-cert: give at least one name, e.g. sharethings.local" >&2; exit 2; }
command -v openssl >/dev/null || { echo "make-cert: needs openssl (apt-get install openssl)" >&2; exit 2; }

san=""
for n in "${names[@]}"; do
    if [[ "$n" =~ ^[0-9.]+$ || "$n" == *:* ]]; then san+="IP:$n,"; else san+="DNS:$n,"; fi
done
san="${san%,}"

mkdir -p "$out"
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

openssl ecparam -name prime256v1 -genkey -noout -out "$work/server.key"
# Extensions browsers require of a server certificate: SAN, serverAuth, not a CA.
cat >"$work/server.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
EOF

if [ "$self_signed" = 1 ]; then
    openssl req -new -x509 -key "$work/server.key" -out "$work/server.crt" -days "$days" \
        -subj "/CN=${names[0]}" -extensions v3 \
        -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n[v3]\n'; cat "$work/server.ext")
    chain=("$work/server.crt")
else
    ca_key="$out/sharethings-ca.key"
    ca_crt="$out/sharethings-ca.crt"
    if [ ! -f "$ca_key" ] || [ ! -f "$ca_crt" ]; then
        openssl ecparam -name prime256v1 -genkey -noout -out "$ca_key"
        # The CA may sign only server certificates directly below it (pathlen:0).
        openssl req -new -x509 -key "$ca_key" -out "$ca_crt" -days 3650 \
            -subj "/CN=ShareThings local CA ($(hostname -s 2>/dev/null || echo lan))" -extensions v3 \
            -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n[v3]\n%s\n%s\n%s\n' \
                'basicConstraints = critical, CA:TRUE, pathlen:0' \
                'keyUsage = critical, keyCertSign, cRLSign' \
                'subjectKeyIdentifier = hash')
        chmod 0644 "$ca_crt"
        echo "make-cert: new local CA $ca_crt (install it on your devices)" >&2
    fi
    openssl req -new -key "$work/server.key" -subj "/CN=${names[0]}" -out "$work/server.csr"
    printf 'authorityKeyIdentifier = keyid\n' >>"$work/server.ext"
    openssl x509 -req -in "$work/server.csr" -CA "$ca_crt" -CAkey "$ca_key" \
        -CAcreateserial -CAserial "$work/ca.srl" -days "$days" -sha256 \
        -extfile "$work/server.ext" -out "$work/server.crt" 2>/dev/null
    # The leaf alone is enough: devices already hold the CA.
    chain=("$work/server.crt")
fi

cat "${chain[@]}" "$work/server.key" >"$out/sharethings.pem"
cp "$work/server.crt" "$out/sharethings.crt"
chmod 0600 "$out/sharethings.pem"
chmod 0644 "$out/sharethings.crt"
echo "make-cert: wrote $out/sharethings.pem for ${names[*]} (valid $days days)" >&2
