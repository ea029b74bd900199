#!/usr/bin/env bash
# Make a TLS certificate for ShareThings on a LAN name, for HAProxy.
#
#   haproxy/make-cert.sh [--out DIR] [--ca-dir DIR] [--new-ca] [--self-signed] [--days N]
#                        NAME [NAME|IP ...]
#
#   haproxy/make-cert.sh sharethings.local                 # local CA + server certificate
#   haproxy/make-cert.sh --out /etc/haproxy/certs pi.local 192.168.1.20
#
# Default (recommended): a small local certificate authority. The first run makes
# CADIR/sharethings-ca.crt and CADIR/sharethings-ca.key (CADIR is --ca-dir, by default DIR;
# the key is readable by its owner only); every run issues a server certificate for the
# given names, signed by that CA, and copies the CA certificate to DIR/sharethings-ca.crt.
# Install sharethings-ca.crt once on each phone/laptop (docs/deploy.md, "Certificates", says
# how); after that the browser trusts every certificate the CA signs, including renewals.
#
# The CA is name-constrained: it can sign only for the names and addresses given when it was
# made (a name covers its subdomains; an address only itself), so a device that trusts it
# trusts nothing else from it, whoever gets the key. It is valid for 1825 days (5 years) and
# signs only TLS server certificates. A later run for a name outside the CA's constraints
# fails and says so; --new-ca replaces the CA (then install the new one on every device and
# remove the old one).
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
ca_dir=
new_ca=0
ca_days=1825
self_signed=0
days=825
names=()
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --ca-dir) ca_dir="$2"; shift 2 ;;
        --new-ca) new_ca=1; shift ;;
        --self-signed) self_signed=1; shift ;;
        --days) days="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "make-cert: unknown option $1" >&2; exit 2 ;;
        *) names+=("$1"); shift ;;
    esac
done
[ ${#names[@]} -gt 0 ] || { echo "make-cert: give at least one name, e.g. sharethings.local" >&2; exit 2; }
command -v openssl >/dev/null || { echo "make-cert: needs openssl (apt-get install openssl)" >&2; exit 2; }

# subjectAltName of the server certificate, and the CA's name constraints: each DNS name as a
# permitted subtree, each address as a permitted single-host range. A name type given no
# subtree would be unconstrained (RFC 5280), so a CA made for names only excludes every
# address, and one made for addresses only permits just the reserved `.invalid` domain.
san=""
permitted_dns=()
permitted_ip=()
for n in "${names[@]}"; do
    if [[ "$n" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
        san+="IP:$n,"; permitted_ip+=("permitted;IP:$n/255.255.255.255")
    elif [[ "$n" == *:* ]]; then
        san+="IP:$n,"; permitted_ip+=("permitted;IP:$n/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
    elif [[ "$n" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
        san+="DNS:$n,"; permitted_dns+=("permitted;DNS:$n")
    else
        echo "make-cert: $n is neither a host name nor an IP address" >&2; exit 2
    fi
done
san="${san%,}"
[ ${#permitted_dns[@]} -gt 0 ] || permitted_dns=("permitted;DNS:invalid")
[ ${#permitted_ip[@]} -gt 0 ] || permitted_ip=("excluded;IP:0.0.0.0/0.0.0.0" "excluded;IP:::/::")
constraints="$(IFS=,; echo "${permitted_dns[*]},${permitted_ip[*]}")"

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
    ca_dir="${ca_dir:-$out}"
    mkdir -p "$ca_dir"
    ca_key="$ca_dir/sharethings-ca.key"
    ca_crt="$ca_dir/sharethings-ca.crt"
    if [ "$new_ca" = 1 ] || [ ! -f "$ca_key" ] || [ ! -f "$ca_crt" ]; then
        openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key"
        # Only server certificates directly below it (pathlen:0, serverAuth), and only for
        # the names given (nameConstraints): trusting it trusts nothing else.
        openssl req -new -x509 -key "$work/ca.key" -out "$work/ca.crt" -days "$ca_days" -sha256 \
            -subj "/CN=ShareThings local CA for ${names[0]}/serialNumber=$(date -u +%Y%m%d%H%M%S)" \
            -extensions v3 \
            -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n[v3]\n%s\n%s\n%s\n%s\n%s\n' \
                'basicConstraints = critical, CA:TRUE, pathlen:0' \
                'keyUsage = critical, keyCertSign, cRLSign' \
                'extendedKeyUsage = serverAuth' \
                "nameConstraints = critical, $constraints" \
                'subjectKeyIdentifier = hash')
        chmod 0600 "$work/ca.key"
        chmod 0644 "$work/ca.crt"
        mv -f "$work/ca.key" "$ca_key"
        mv -f "$work/ca.crt" "$ca_crt"
        echo "make-cert: new local CA $ca_crt for ${names[*]}, valid $ca_days days (install it on your devices)" >&2
    fi
    openssl req -new -key "$work/server.key" -subj "/CN=${names[0]}" -out "$work/server.csr"
    printf 'authorityKeyIdentifier = keyid\n' >>"$work/server.ext"
    openssl x509 -req -in "$work/server.csr" -CA "$ca_crt" -CAkey "$ca_key" \
        -CAcreateserial -CAserial "$work/ca.srl" -days "$days" -sha256 \
        -extfile "$work/server.ext" -out "$work/server.crt" 2>/dev/null
    # The CA's name constraints are checked here, before anything is replaced.
    if ! openssl verify -CAfile "$ca_crt" -purpose sslserver "$work/server.crt" >"$work/verify" 2>&1; then
        echo "make-cert: the CA in $ca_dir cannot sign for ${names[*]}:" >&2
        sed 's/^/  /' "$work/verify" >&2
        echo "make-cert: give the names it was made for, or --new-ca for a new CA" >&2
        exit 1
    fi
    [ "$ca_crt" -ef "$out/sharethings-ca.crt" ] || install -m 0644 "$ca_crt" "$out/sharethings-ca.crt"
    # The leaf alone is enough: devices already hold the CA.
    chain=("$work/server.crt")
fi

cat "${chain[@]}" "$work/server.key" >"$out/sharethings.pem"
cp "$work/server.crt" "$out/sharethings.crt"
chmod 0600 "$out/sharethings.pem"
chmod 0644 "$out/sharethings.crt"
echo "make-cert: wrote $out/sharethings.pem for ${names[*]} (valid $days days)" >&2
