#!/usr/bin/env bash
# Starts or stops a throwaway local Redis Cluster: 3 masters + 3 replicas on loopback.
#
#   scripts/redis-cluster.sh start   # six redis-server nodes, no persistence, daemonized
#   scripts/redis-cluster.sh stop    # shut them down and remove their files (idempotent)
#
# Environment:
#   CLUSTER_BASE_PORT      first port (default 7000); nodes use BASE..BASE+5 and, for the
#                          cluster bus, BASE+10000..BASE+10005; all must be free
#   CLUSTER_NODE_TIMEOUT   cluster-node-timeout in ms (default 5000): how long before a dead
#                          master is failed over
#   CLUSTER_START_TIMEOUT  seconds to wait for cluster_state:ok on every node (default 30)
#   REDIS_CLUSTER_STATE    state file (default .build/redis-cluster.env)
#
# `start` writes the state file; it can be sourced and exports REDIS_CLUSTER_URL
# (redis-cluster://127.0.0.1:7000,...,127.0.0.1:7005). `stop` reads it back.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state_file="${REDIS_CLUSTER_STATE:-$repo_root/.build/redis-cluster.env}"
base_port="${CLUSTER_BASE_PORT:-7000}"
node_timeout="${CLUSTER_NODE_TIMEOUT:-5000}"
start_timeout="${CLUSTER_START_TIMEOUT:-30}"
node_count=6

script_name=redis-cluster
# shellcheck source=scripts/lib/common.sh
source "$repo_root/scripts/lib/common.sh"

# The ports of the six nodes, one per line.
node_ports() {
    local i
    for ((i = 0; i < node_count; i++)); do echo $((base_port + i)); done
}

start() {
    command -v redis-server >/dev/null 2>&1 || die "redis-server not found (run scripts/install-deps.sh)"
    command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found (run scripts/install-deps.sh)"
    if ! [[ "$base_port" =~ ^[0-9]{1,5}$ ]] || ((base_port < 1024 || base_port + node_count - 1 + 10000 > 65535)); then
        die "CLUSTER_BASE_PORT must be a number from 1024 to $((65535 - 10000 - node_count + 1)) (got '$base_port')"
    fi
    [[ "$node_timeout" =~ ^[0-9]+$ ]] || die "CLUSTER_NODE_TIMEOUT must be a whole number of ms"
    [[ "$start_timeout" =~ ^[0-9]+$ ]] || die "CLUSTER_START_TIMEOUT must be a whole number of seconds"
    if [[ -f "$state_file" ]]; then
        echo "redis-cluster: stopping the cluster left from an earlier run"
        stop
    fi

    local started_at port
    started_at="$(now_ms)"
    for port in $(node_ports); do
        if port_in_use "$port" || port_in_use $((port + 10000)); then
            die "port $port or its bus port $((port + 10000)) is in use; choose other ports with CLUSTER_BASE_PORT"
        fi
    done
    mkdir -p "$(dirname "$state_file")"

    local tmpdir ports=() addresses=() urls=()
    tmpdir="$(mktemp -d "${TMPDIR:-/tmp}/redis-cluster.XXXXXX")"
    for port in $(node_ports); do
        ports+=("$port")
        addresses+=("127.0.0.1:$port")
        urls+=("127.0.0.1:$port")
    done
    # Written before anything starts, so that `stop` can clean up after a failed start.
    write_state "$tmpdir" "${ports[*]}" ""

    # If anything below fails, take down what was started.
    trap 'echo "redis-cluster: start failed; cleaning up" >&2; stop >&2 || true' ERR

    for port in "${ports[@]}"; do
        mkdir -p "$tmpdir/$port"
        redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
            --cluster-config-file "$tmpdir/$port/nodes.conf" --cluster-node-timeout "$node_timeout" \
            --save "" --appendonly no --repl-diskless-sync-delay 0 --daemonize yes --dir "$tmpdir/$port" \
            --pidfile "$tmpdir/$port/redis.pid" --logfile "$tmpdir/$port/redis.log"
    done

    local pids=() pid tries
    for port in "${ports[@]}"; do
        # Up to ~5 s for PING; the answering server must be ours (same pid file).
        for tries in $(seq 1 100); do
            if [[ "$(redis-cli -p "$port" ping 2>/dev/null || true)" == "PONG" ]] &&
                redis-cli -p "$port" config get pidfile 2>/dev/null | grep -qF "$tmpdir/$port/"; then
                break
            fi
            ((tries < 100)) || {
                tail -n 5 "$tmpdir/$port/redis.log" >&2 2>/dev/null || true
                false
            }
            sleep 0.05
        done
        pid="$(cat "$tmpdir/$port/redis.pid")"
        pids+=("$pid")
    done
    write_state "$tmpdir" "${ports[*]}" "${pids[*]}"

    if ! redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes \
        >"$tmpdir/create.log" 2>&1; then
        tail -n 20 "$tmpdir/create.log" >&2
        false
    fi

    # Every node must see every slot served before the cluster is usable.
    local deadline pending
    deadline=$((SECONDS + start_timeout))
    while true; do
        pending=()
        for port in "${ports[@]}"; do
            redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || pending+=("$port")
        done
        ((${#pending[@]} == 0)) && break
        if ((SECONDS >= deadline)); then
            echo "redis-cluster: cluster_state is not ok after ${start_timeout}s on ports ${pending[*]}" >&2
            false
        fi
        sleep 0.1
    done
    # And every master must have its replica attached and in sync (failover tests need it).
    while true; do
        local synced=0
        for port in "${ports[@]}"; do
            if redis-cli -p "$port" info replication 2>/dev/null | grep -q '^role:slave' &&
                redis-cli -p "$port" info replication 2>/dev/null | grep -q '^master_link_status:up'; then
                synced=$((synced + 1))
            fi
        done
        ((synced == node_count / 2)) && break
        if ((SECONDS >= deadline)); then
            echo "redis-cluster: only $synced of $((node_count / 2)) replicas in sync after ${start_timeout}s" >&2
            false
        fi
        sleep 0.1
    done
    trap - ERR

    local joined elapsed
    joined="$(
        IFS=,
        echo "${urls[*]}"
    )"
    write_state "$tmpdir" "${ports[*]}" "${pids[*]}" "redis-cluster://$joined"
    elapsed="$(elapsed_since "$started_at")"
    echo "redis-cluster: 3 masters + 3 replicas on 127.0.0.1:${ports[0]}-${ports[$((node_count - 1))]}" \
        "ready in ${elapsed}s (state in $state_file)"
}

# write_state TMPDIR "PORTS" "PIDS" [URL]
write_state() {
    {
        echo "# written by scripts/redis-cluster.sh start; read by stop"
        if [[ -n "${4:-}" ]]; then echo "export REDIS_CLUSTER_URL=$4"; fi
        echo "REDIS_CLUSTER_PORTS=\"$2\""
        echo "REDIS_CLUSTER_PIDS=\"$3\""
        echo "REDIS_CLUSTER_TMPDIR=$1"
    } >"$state_file"
}

stop() {
    if [[ ! -f "$state_file" ]]; then
        echo "redis-cluster: not running (no $state_file)"
        return 0
    fi
    local REDIS_CLUSTER_PORTS="" REDIS_CLUSTER_PIDS="" REDIS_CLUSTER_TMPDIR=""
    # shellcheck source=/dev/null
    source "$state_file"

    local port pid tries
    for port in $REDIS_CLUSTER_PORTS; do
        # Only a node of ours (its pid file is in our temp dir) is shut down.
        if [[ -n "$REDIS_CLUSTER_TMPDIR" ]] &&
            redis-cli -p "$port" config get pidfile 2>/dev/null | grep -qF "$REDIS_CLUSTER_TMPDIR/$port/"; then
            redis-cli -p "$port" shutdown nosave now >/dev/null 2>&1 || true
        fi
    done
    # Pids recorded by start, plus any pid file left behind by a start that failed early.
    local all_pids="$REDIS_CLUSTER_PIDS"
    for port in $REDIS_CLUSTER_PORTS; do
        if [[ -n "$REDIS_CLUSTER_TMPDIR" && -f "$REDIS_CLUSTER_TMPDIR/$port/redis.pid" ]]; then
            all_pids+=" $(cat "$REDIS_CLUSTER_TMPDIR/$port/redis.pid" 2>/dev/null || true)"
        fi
    done
    for pid in $all_pids; do
        [[ "$pid" =~ ^[0-9]+$ ]] || continue
        # Up to ~2 s to exit, then kill it, if the pid still is a redis-server (never a
        # recycled pid).
        for tries in $(seq 1 40); do
            running "$pid" || break
            sleep 0.05
            : "$tries"
        done
        if running "$pid" && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null; then
            echo "redis-cluster: shutdown did not stop $pid; killing it"
            kill "$pid" 2>/dev/null || true
            sleep 0.2
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    # Only remove what start created.
    if [[ -n "$REDIS_CLUSTER_TMPDIR" && -d "$REDIS_CLUSTER_TMPDIR" && "$REDIS_CLUSTER_TMPDIR" == */redis-cluster.* ]]; then
        rm -rf "$REDIS_CLUSTER_TMPDIR"
    fi
    rm -f "$state_file"
    echo "redis-cluster: stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
