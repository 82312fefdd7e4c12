#!/usr/bin/env bash
# The compose broker's start command (instead of the apache/kafka image's own, which cannot add SCRAM users when
# it formats the storage). It
#   1. writes $KAFKA_HOME/config/hearth/server.properties: server.properties beside this script plus the lines that
#      carry passwords or the host port, and admin.properties (the admin's client settings, for the health check
#      and for operators' kafka-*.sh commands);
#   2. on the first start only (no meta.properties in log.dirs), formats the storage with a SCRAM-SHA-512 credential
#      for admin and for each service: `kafka-storage.sh format --add-scram`;
#   3. runs the broker.
# Passwords come from the environment (docker-compose.yml). Later changes of a service's or the admin's password
# do not reach a formatted storage: change the credential with kafka-configs.sh first (docs/operations.md).
set -euo pipefail

SERVICES=(screening fulfillment session followup)
kafka_home=${KAFKA_HOME:-/opt/kafka}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
template=$here/server.properties
config_dir=$kafka_home/config/hearth

fail() {
    echo "kafka: $*" >&2
    exit 1
}

# A password ends up in a JAAS string, a properties file and the --add-scram syntax: keep to characters that need
# no quoting in any of them.
check() {
    local name=$1
    local value=${!name:-}
    [[ $value =~ ^[A-Za-z0-9._~+/=-]+$ ]] || fail "$name must be set, using only letters, digits and . _ ~ + / = -"
}

check CLUSTER_ID
check HEARTH_KAFKA_ADMIN_PASSWORD
check HEARTH_KAFKA_STORE_PASSWORD
[ ${#HEARTH_KAFKA_STORE_PASSWORD} -ge 6 ] || fail "HEARTH_KAFKA_STORE_PASSWORD must have 6 characters or more"
for service in "${SERVICES[@]}"; do
    check "HEARTH_${service^^}_KAFKA_PASSWORD"
done
host_port=${HEARTH_KAFKA_HOST_PORT:-29092}
[[ $host_port =~ ^[0-9]+$ ]] || fail "HEARTH_KAFKA_HOST_PORT must be a port number"
admin=$HEARTH_KAFKA_ADMIN_PASSWORD
store=$HEARTH_KAFKA_STORE_PASSWORD
data=$(sed -n 's/^log\.dirs=//p' "$template")
[ -n "$data" ] || fail "$template sets no log.dirs"

umask 077
mkdir -p "$config_dir"
scram_login="org.apache.kafka.common.security.scram.ScramLoginModule required"
{
    cat "$template"
    echo
    echo "# Added by start.sh from the environment."
    echo "advertised.listeners=INTERNAL://kafka:9092,HOST://localhost:$host_port"
    echo "ssl.keystore.password=$store"
    echo "ssl.key.password=$store"
    echo "ssl.truststore.password=$store"
    # INTERNAL is also the inter-broker listener: the broker logs in to itself as admin.
    echo "listener.name.internal.scram-sha-512.sasl.jaas.config=$scram_login username=\"admin\" password=\"$admin\";"
    echo "listener.name.host.scram-sha-512.sasl.jaas.config=$scram_login;"
    echo "listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule" \
        "required username=\"admin\" password=\"$admin\" user_admin=\"$admin\";"
} >"$config_dir/server.properties"
{
    echo "# The admin's client settings: kafka-*.sh --bootstrap-server kafka:9092 --command-config <this file>"
    echo "security.protocol=SASL_SSL"
    echo "sasl.mechanism=SCRAM-SHA-512"
    echo "sasl.jaas.config=$scram_login username=\"admin\" password=\"$admin\";"
    echo "ssl.truststore.type=PKCS12"
    echo "ssl.truststore.location=$(sed -n 's/^ssl\.truststore\.location=//p' "$template")"
    echo "ssl.truststore.password=$store"
} >"$config_dir/admin.properties"

if [ ! -e "$data/meta.properties" ]; then
    echo "kafka: formatting $data with SCRAM-SHA-512 users admin ${SERVICES[*]}"
    mkdir -p "$data"
    scram=(--add-scram "SCRAM-SHA-512=[name=admin,password=$admin]")
    for service in "${SERVICES[@]}"; do
        password_var="HEARTH_${service^^}_KAFKA_PASSWORD"
        scram+=(--add-scram "SCRAM-SHA-512=[name=$service,password=${!password_var}]")
    done
    "$kafka_home/bin/kafka-storage.sh" format --cluster-id "$CLUSTER_ID" --config "$config_dir/server.properties" \
        "${scram[@]}"
fi

exec "$kafka_home/bin/kafka-server-start.sh" "$config_dir/server.properties"
