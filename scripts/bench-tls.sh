#!/usr/bin/env bash
# The cost of TLS: makes a throwaway CA and server certificate with openssl, starts one
# redis-server listening on a plain TCP port and a TLS port, pinned to one CPU, and runs
# `connector-status bench-tls` (plain vs TLS, interleaved, same server) pinned to another.
#
#   bash scripts/bench-tls.sh                 # defaults: 3 rounds
#   bash scripts/bench-tls.sh --rounds 5      # extra arguments go to bench-tls
#
# Environment: BENCH_TLS_PORT (default 7957; the TLS port is the next one), BENCH_SERVER_CPU
# (default 1), BENCH_CLIENT_CPU (default 0).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=scripts/install-deps.sh
source "$repo_root/scripts/install-deps.sh" >/dev/null

plain_port="${BENCH_TLS_PORT:-7957}"
tls_port=$((plain_port + 1))
server_cpu="${BENCH_SERVER_CPU:-1}"
client_cpu="${BENCH_CLIENT_CPU:-0}"
dir="$(mktemp -d "${TMPDIR:-/tmp}/bench-tls.XXXXXX")"
# shellcheck disable=SC2317  # invoked through the trap
cleanup() {
    if [[ -f "$dir/redis.pid" ]]; then kill "$(cat "$dir/redis.pid")" 2>/dev/null || true; fi
    sleep 0.2
    rm -rf "$dir"
}
trap cleanup EXIT

# A CA and a server certificate for 127.0.0.1 (EC P-256, like the tests').
(
    cd "$dir"
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 1 -subj "/CN=bench-tls CA" \
        -addext basicConstraints=critical,CA:TRUE 2>/dev/null
    openssl req -new "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 1 \
        -extfile server.ext 2>/dev/null
)

swift build -c release --product connector-status >/dev/null
tool="$(swift build -c release --show-bin-path)/connector-status"

taskset -c "$server_cpu" redis-server --bind 127.0.0.1 --port "$plain_port" --tls-port "$tls_port" \
    --tls-cert-file "$dir/server.crt" --tls-key-file "$dir/server.key" --tls-ca-cert-file "$dir/ca.crt" \
    --tls-auth-clients no --save '' --appendonly no --daemonize yes --dir "$dir" \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
for _ in $(seq 1 100); do
    [[ "$(redis-cli -p "$plain_port" ping 2>/dev/null || true)" == "PONG" ]] && break
    sleep 0.05
done

# The URLs go through the environment, never a command line.
PLAIN_REDIS_URL="redis://127.0.0.1:$plain_port" \
    TLS_REDIS_URL="rediss://127.0.0.1:$tls_port?cacert=$dir/ca.crt" \
    taskset -c "$client_cpu" "$tool" bench-tls "$@"
