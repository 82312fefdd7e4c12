#!/usr/bin/env bash
# The `certs` one-shot: the compose broker's TLS files, made with the JDK's keytool (as deploy/local/infra.py does
# for the local broker). Writes
#   $HEARTH_TLS_DIR (volume kafka-tls, mounted into the broker only): broker.p12 (the broker's key and its
#       certificate chain) and truststore.p12 (the CA certificate), both under HEARTH_KAFKA_STORE_PASSWORD;
#   $HEARTH_CA_DIR (volume kafka-ca, mounted read-only into the clients): ca.pem, the CA certificate.
# The broker's certificate names DNS kafka (the containers), DNS localhost and IP 127.0.0.1 (tools on the host,
# through the published port), so clients verify the host name. The CA's private key is thrown away once it has
# signed: nothing can sign another certificate for this broker. Files that are already there and open with the
# store password are kept; `docker compose down -v` (or removing both volumes) makes new ones.
set -euo pipefail

tls_dir=${HEARTH_TLS_DIR:-/certs/broker}
ca_dir=${HEARTH_CA_DIR:-/certs/ca}
keytool=${JAVA_HOME:+$JAVA_HOME/bin/}keytool
# keytool wants 6 characters or more; the broker reads the password from a properties file (start.sh)
if [[ ! ${HEARTH_KAFKA_STORE_PASSWORD:-} =~ ^[A-Za-z0-9._~+/=-]{6,}$ ]]; then
    echo "certs: HEARTH_KAFKA_STORE_PASSWORD must have 6 or more letters, digits or . _ ~ + / = -" >&2
    exit 1
fi
export HEARTH_KAFKA_STORE_PASSWORD

kt() {
    "$keytool" -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC "$@" \
        -storetype PKCS12 -storepass:env HEARTH_KAFKA_STORE_PASSWORD
}

if [ -s "$tls_dir/broker.p12" ] && [ -s "$tls_dir/truststore.p12" ] && [ -s "$ca_dir/ca.pem" ] &&
    kt -list -keystore "$tls_dir/broker.p12" -alias broker >/dev/null 2>&1; then
    echo "certs: keeping the broker's TLS files in $tls_dir and $ca_dir"
    exit 0
fi

umask 022 # the broker (the image's user) and the services (uid 10001) read what root writes here
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
san="san=dns:kafka,dns:localhost,ip:127.0.0.1"
key=(-keyalg EC -groupname secp256r1)

kt -genkeypair -alias ca "${key[@]}" -dname "CN=hearth compose CA" -ext bc:c -validity 3650 -keystore ca.p12
kt -genkeypair -alias broker "${key[@]}" -dname "CN=kafka" -ext "$san" -validity 825 -keystore broker.p12
kt -exportcert -rfc -alias ca -keystore ca.p12 -file ca.pem
kt -certreq -alias broker -keystore broker.p12 -file broker.csr
kt -gencert -rfc -alias ca -keystore ca.p12 -infile broker.csr -outfile broker.pem -validity 825 \
    -ext "$san" -ext ku:c=digitalSignature -ext eku=serverAuth,clientAuth
kt -importcert -noprompt -alias ca -keystore truststore.p12 -file ca.pem
cat broker.pem ca.pem >chain.pem
kt -importcert -noprompt -alias broker -keystore broker.p12 -file chain.pem

mkdir -p "$tls_dir" "$ca_dir"
# Each file lands under its final name in one step (copy, then rename), the CA certificate last.
for file in broker.p12 truststore.p12; do
    cp "$file" "$tls_dir/.$file.new"
    mv -f "$tls_dir/.$file.new" "$tls_dir/$file"
done
cp ca.pem "$ca_dir/.ca.pem.new"
mv -f "$ca_dir/.ca.pem.new" "$ca_dir/ca.pem"
echo "certs: made a CA and the broker's key and certificate (DNS kafka, DNS localhost, IP 127.0.0.1)"
