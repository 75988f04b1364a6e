#!/usr/bin/env bash
# Starts or stops a throwaway local Redis Sentinel setup on loopback: one master, one replica
# and three sentinels watching the master under the name `mymaster`.
#
#   scripts/redis-sentinel.sh start      # 2 redis-server + 3 sentinels, no persistence, daemonized
#   scripts/redis-sentinel.sh failover   # SENTINEL FAILOVER; prints the new master's "host port"
#   scripts/redis-sentinel.sh stop       # shut them down and remove their files (idempotent)
#
# Master and replica have NO password (and the sentinels none either): loopback only, for tests.
#
# Environment:
#   SENTINEL_BASE_PORT      master port (default 7100); the replica uses BASE+1
#   SENTINEL_PORT           first sentinel port (default 26400); the sentinels use PORT..PORT+2
#   SENTINEL_DOWN_AFTER     down-after-milliseconds (default 1000): how long an unreachable
#                           master takes to be seen as down (and failed over)
#   SENTINEL_START_TIMEOUT  seconds `start` waits for the setup to be ready (default 30)
#   SENTINEL_FAILOVER_WAIT  seconds `failover` waits for every sentinel to switch (default 30)
#   REDIS_SENTINEL_STATE    state file (default .build/redis-sentinel.env)
#
# Sentinel settings: quorum 2, failover-timeout 5000 ms, parallel-syncs 1.
#
# `start` returns once the replica's link to the master is up and every sentinel reports the
# master at 127.0.0.1:BASE, lists the replica and knows the other two sentinels. It writes the
# state file; it can be sourced and exports REDIS_SENTINEL_URL
# (redis-sentinel://127.0.0.1:26400,127.0.0.1:26401,127.0.0.1:26402/mymaster) and
# REDIS_SENTINEL_DIR (the temp dir holding every process's config, log and pid file; the
# sentinels and, on failover, the servers rewrite their config files there). `stop` and
# `failover` read it back.
#
# `failover` sends SENTINEL FAILOVER to the first sentinel and returns once every sentinel
# reports the same new master. It first waits (within SENTINEL_FAILOVER_WAIT) for a replica in
# sync with the current master: right after a failover the old master is still a master for
# ~10 s, until the sentinels turn it into a replica of the new one (so a second failover in a
# row spends that long waiting; without the wait Sentinel would "promote" the old master as it
# is and leave two masters). Clients connected straight to the old master can still write to it
# during those seconds; those writes are lost when it becomes a replica.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state_file="${REDIS_SENTINEL_STATE:-$repo_root/.build/redis-sentinel.env}"
base_port="${SENTINEL_BASE_PORT:-7100}"
sentinel_port="${SENTINEL_PORT:-26400}"
down_after="${SENTINEL_DOWN_AFTER:-1000}"
start_timeout="${SENTINEL_START_TIMEOUT:-30}"
failover_wait="${SENTINEL_FAILOVER_WAIT:-30}"
master_name=mymaster
quorum=2
failover_timeout=5000
sentinel_count=3

script_name=redis-sentinel
# shellcheck source=scripts/lib/common.sh
source "$repo_root/scripts/lib/common.sh"

# The ports of the sentinels, one per line.
sentinel_ports() {
    local i
    for ((i = 0; i < sentinel_count; i++)); do echo $((sentinel_port + i)); done
}

# redis-cli against 127.0.0.1:$1, carriage returns stripped, errors ignored (empty output).
cli() {
    local port="$1"
    shift
    redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null | tr -d '\r' || true
}

# The master address a sentinel reports, as "host port" (empty if it does not answer).
master_addr() {
    cli "$1" sentinel get-master-addr-by-name "$master_name" | paste -sd ' ' -
}

# One field of SENTINEL MASTER (a flat name/value list).
master_field() {
    cli "$1" sentinel master "$master_name" | awk -v k="$2" 'NR % 2 == 1 { key = $0; next } key == k { print; exit }'
}

# The replicas a sentinel knows, one line each:
#   ip port flags master-link-status role-reported master-host master-port
# (e.g. "127.0.0.1 7101 slave ok slave 127.0.0.1 7100"; "-" for a field not reported).
replicas() {
    cli "$1" sentinel replicas "$master_name" | awk '
        function flush() { print f["ip"], f["port"], f["flags"], f["master-link-status"], f["role-reported"], f["master-host"], f["master-port"] }
        NR % 2 == 1 { key = $0; next }
        key == "name" { if (n++) flush(); split("ip port flags master-link-status role-reported master-host master-port", names, " "); for (i in names) f[names[i]] = "-" }
        key in f { f[key] = $0 }
        END { if (n) flush() }'
}

# True when the process answering on $1 is one of ours: it runs from the config file $2.
is_ours() {
    local info
    info="$(cli "$1" info server)"
    grep -qxF "config_file:$2" <<<"$info"
}

start() {
    command -v redis-server >/dev/null 2>&1 || die "redis-server not found (run scripts/install-deps.sh)"
    command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found (run scripts/install-deps.sh)"
    if ! [[ "$base_port" =~ ^[0-9]{1,5}$ ]] || ((base_port < 1024 || base_port + 1 > 65535)); then
        die "SENTINEL_BASE_PORT must be a number from 1024 to 65534 (got '$base_port')"
    fi
    if ! [[ "$sentinel_port" =~ ^[0-9]{1,5}$ ]] || ((sentinel_port < 1024 || sentinel_port + sentinel_count - 1 > 65535)); then
        die "SENTINEL_PORT must be a number from 1024 to $((65535 - sentinel_count + 1)) (got '$sentinel_port')"
    fi
    [[ "$down_after" =~ ^[0-9]+$ ]] || die "SENTINEL_DOWN_AFTER must be a whole number of ms"
    [[ "$start_timeout" =~ ^[0-9]+$ ]] || die "SENTINEL_START_TIMEOUT must be a whole number of seconds"
    if [[ -f "$state_file" ]]; then
        echo "redis-sentinel: stopping the setup left from an earlier run"
        stop
    fi

    local started_at port
    started_at="$(now_ms)"
    local master_port="$base_port" replica_port=$((base_port + 1))
    local server_ports=("$master_port" "$replica_port") sentinels=()
    for port in $(sentinel_ports); do sentinels+=("$port"); done
    for port in "${server_ports[@]}" "${sentinels[@]}"; do
        if port_in_use "$port"; then
            die "port $port is in use; choose other ports with SENTINEL_BASE_PORT / SENTINEL_PORT"
        fi
    done
    mkdir -p "$(dirname "$state_file")"

    local tmpdir
    tmpdir="$(mktemp -d "${TMPDIR:-/tmp}/redis-sentinel.XXXXXX")"
    # Written before anything starts, so that `stop` can clean up after a failed start.
    write_state "$tmpdir" "${server_ports[*]}" "${sentinels[*]}" ""

    # If anything below fails, take down what was started.
    trap 'echo "redis-sentinel: start failed; cleaning up" >&2; stop >&2 || true' ERR

    # Config files rather than flags: sentinels require one, and both sentinels (always) and
    # servers (CONFIG REWRITE after a failover) rewrite theirs.
    for port in "${server_ports[@]}"; do
        mkdir -p "$tmpdir/$port"
        {
            echo "port $port"
            echo "bind 127.0.0.1"
            echo "daemonize yes"
            echo "dir $tmpdir/$port"
            echo "pidfile $tmpdir/$port/redis.pid"
            echo "logfile $tmpdir/$port/redis.log"
            echo 'save ""'
            echo "appendonly no"
            # Diskless full syncs start at once (the default waits 5 s for more replicas).
            echo "repl-diskless-sync-delay 0"
            if ((port == replica_port)); then echo "replicaof 127.0.0.1 $master_port"; fi
        } >"$tmpdir/$port/redis.conf"
        redis-server "$tmpdir/$port/redis.conf"
    done
    for port in "${sentinels[@]}"; do
        mkdir -p "$tmpdir/$port"
        {
            echo "port $port"
            echo "bind 127.0.0.1"
            echo "daemonize yes"
            echo "dir $tmpdir/$port"
            echo "pidfile $tmpdir/$port/redis.pid"
            echo "logfile $tmpdir/$port/redis.log"
            echo "sentinel monitor $master_name 127.0.0.1 $master_port $quorum"
            echo "sentinel down-after-milliseconds $master_name $down_after"
            echo "sentinel failover-timeout $master_name $failover_timeout"
            echo "sentinel parallel-syncs $master_name 1"
        } >"$tmpdir/$port/sentinel.conf"
        redis-server "$tmpdir/$port/sentinel.conf" --sentinel
    done

    local pids=() pid tries conf
    for port in "${server_ports[@]}" "${sentinels[@]}"; do
        conf="$tmpdir/$port/redis.conf"
        [[ -f "$conf" ]] || conf="$tmpdir/$port/sentinel.conf"
        # Up to ~5 s for PING; the answering process must be ours (same config file).
        for tries in $(seq 1 100); do
            if [[ "$(cli "$port" ping)" == "PONG" ]] && is_ours "$port" "$conf"; then
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
    write_state "$tmpdir" "${server_ports[*]}" "${sentinels[*]}" "${pids[*]}"

    # Ready: the replica is in sync and every sentinel sees the master, the replica (connected)
    # and the two other sentinels.
    local deadline pending
    deadline=$((SECONDS + start_timeout))
    while true; do
        pending=()
        grep -qx 'master_link_status:up' <<<"$(cli "$replica_port" info replication)" || pending+=("replica $replica_port: link to master not up")
        for port in "${sentinels[@]}"; do
            if [[ "$(master_addr "$port")" != "127.0.0.1 $master_port" ]]; then
                pending+=("sentinel $port: master not at 127.0.0.1:$master_port")
            elif [[ "$(master_field "$port" flags)" != "master" ]]; then
                pending+=("sentinel $port: master flags $(master_field "$port" flags)")
            elif ! grep -qxF "127.0.0.1 $replica_port slave ok slave 127.0.0.1 $master_port" <<<"$(replicas "$port")"; then
                pending+=("sentinel $port: replica 127.0.0.1:$replica_port not listed as connected")
            elif [[ "$(master_field "$port" num-other-sentinels)" != "$((sentinel_count - 1))" ]]; then
                pending+=("sentinel $port: knows $(master_field "$port" num-other-sentinels) other sentinels")
            fi
        done
        ((${#pending[@]} == 0)) && break
        if ((SECONDS >= deadline)); then
            echo "redis-sentinel: not ready after ${start_timeout}s:" >&2
            printf '  %s\n' "${pending[@]}" >&2
            false
        fi
        sleep 0.1
    done
    trap - ERR

    local joined
    joined="$(
        IFS=,
        printf '%s' "${sentinels[*]/#/127.0.0.1:}"
    )"
    write_state "$tmpdir" "${server_ports[*]}" "${sentinels[*]}" "${pids[*]}" \
        "redis-sentinel://$joined/$master_name"
    echo "redis-sentinel: master 127.0.0.1:$master_port, replica 127.0.0.1:$replica_port," \
        "sentinels 127.0.0.1:${sentinels[0]}-${sentinels[$((sentinel_count - 1))]} ready in" \
        "$(elapsed_since "$started_at")s (state in $state_file)"
}

# write_state TMPDIR "SERVER_PORTS" "SENTINEL_PORTS" "PIDS" [URL]
write_state() {
    {
        echo "# written by scripts/redis-sentinel.sh start; read by stop and failover"
        if [[ -n "${5:-}" ]]; then echo "export REDIS_SENTINEL_URL=$5"; fi
        echo "export REDIS_SENTINEL_DIR=$1"
        echo "REDIS_SENTINEL_SERVER_PORTS=\"$2\""
        echo "REDIS_SENTINEL_SENTINEL_PORTS=\"$3\""
        echo "REDIS_SENTINEL_PIDS=\"$4\""
    } >"$state_file"
}

failover() {
    [[ -f "$state_file" ]] || die "not running (no $state_file)"
    [[ "$failover_wait" =~ ^[0-9]+$ ]] || die "SENTINEL_FAILOVER_WAIT must be a whole number of seconds"
    local REDIS_SENTINEL_URL="" REDIS_SENTINEL_SENTINEL_PORTS=""
    # shellcheck source=/dev/null
    source "$state_file"
    [[ -n "$REDIS_SENTINEL_URL" ]] || die "the setup in $state_file never became ready; run start again"
    local sentinels
    read -r -a sentinels <<<"$REDIS_SENTINEL_SENTINEL_PORTS"
    local first="${sentinels[0]}" before reply started_at deadline waited=""
    before="$(master_addr "$first")"
    [[ -n "$before" ]] || die "sentinel $first does not answer"
    started_at="$(now_ms)"
    deadline=$((SECONDS + failover_wait))

    # Wait until the first sentinel (which runs a failover asked of it itself) lists a replica
    # that is in sync with the current master, and none that still reports itself a master.
    # Right after a failover the old master is listed as a replica while it still is a master
    # (the sentinels turn it into a replica ~10 s later); Sentinel 7.0 would "promote" it as it
    # is, and for those seconds both servers would be masters.
    local listed
    while true; do
        listed="$(replicas "$first")"
        if grep -qxF "slave ok slave $before" <<<"$(cut -d' ' -f3- <<<"$listed")" &&
            ! grep -q ' master [^ ]* [^ ]*$' <<<"$listed"; then
            break
        fi
        if [[ -z "$waited" ]]; then
            echo "redis-sentinel: waiting for a replica in sync with ${before/ /:}" >&2
            waited=1
        fi
        ((SECONDS < deadline)) || die "no replica in sync with ${before/ /:} within ${failover_wait}s: ${listed:-none listed}"
        sleep 0.2
    done

    # NOGOODSLAVE until the sentinel sees a replica it can promote; INPROG when a failover is
    # already running, which will move the master too.
    waited=""
    while true; do
        reply="$(cli "$first" sentinel failover "$master_name")"
        case "$reply" in
        OK) break ;;
        INPROG*) break ;;
        NOGOODSLAVE*)
            if [[ -z "$waited" ]]; then
                echo "redis-sentinel: no replica can be promoted yet; waiting" >&2
                waited=1
            fi
            ;;
        *) die "SENTINEL FAILOVER to $first failed: ${reply:-no answer}" ;;
        esac
        ((SECONDS < deadline)) || die "no replica could be promoted within ${failover_wait}s"
        sleep 0.2
    done

    # Done when every sentinel reports the same master, other than the one before.
    local port addr after pending
    while true; do
        after="" pending=""
        for port in "${sentinels[@]}"; do
            addr="$(master_addr "$port")"
            if [[ -z "$addr" || "$addr" == "$before" ]] || [[ -n "$after" && "$addr" != "$after" ]]; then
                pending=1
                break
            fi
            after="$addr"
        done
        [[ -z "$pending" ]] && break
        if ((SECONDS >= deadline)); then
            local report=()
            for port in "${sentinels[@]}"; do report+=("$port: $(master_addr "$port")"); done
            die "the sentinels did not all switch from $before within ${failover_wait}s (${report[*]})"
        fi
        sleep 0.1
    done
    echo "redis-sentinel: failover ${before/ /:} -> ${after/ /:} in $(elapsed_since "$started_at")s" >&2
    echo "$after"
}

stop() {
    if [[ ! -f "$state_file" ]]; then
        echo "redis-sentinel: not running (no $state_file)"
        return 0
    fi
    local REDIS_SENTINEL_SERVER_PORTS="" REDIS_SENTINEL_SENTINEL_PORTS="" REDIS_SENTINEL_PIDS="" \
        REDIS_SENTINEL_DIR=""
    # shellcheck source=/dev/null
    source "$state_file"
    local dir="$REDIS_SENTINEL_DIR"

    local port pid tries
    # Sentinels first, so that they do not start a failover while the servers go down. Only a
    # process of ours (its config file is in our temp dir) is shut down.
    for port in $REDIS_SENTINEL_SENTINEL_PORTS; do
        if [[ -n "$dir" ]] && is_ours "$port" "$dir/$port/sentinel.conf"; then
            redis-cli -h 127.0.0.1 -p "$port" shutdown >/dev/null 2>&1 || true
        fi
    done
    for port in $REDIS_SENTINEL_SERVER_PORTS; do
        if [[ -n "$dir" ]] && is_ours "$port" "$dir/$port/redis.conf"; then
            redis-cli -h 127.0.0.1 -p "$port" shutdown nosave now >/dev/null 2>&1 || true
        fi
    done
    # Pids recorded by start, plus any pid file left behind by a start that failed early.
    local all_pids="$REDIS_SENTINEL_PIDS"
    for port in $REDIS_SENTINEL_SENTINEL_PORTS $REDIS_SENTINEL_SERVER_PORTS; do
        if [[ -n "$dir" && -f "$dir/$port/redis.pid" ]]; then
            all_pids+=" $(cat "$dir/$port/redis.pid" 2>/dev/null || true)"
        fi
    done
    for pid in $all_pids; do
        [[ "$pid" =~ ^[0-9]+$ ]] || continue
        # Up to ~2 s to exit, then kill it, if the pid still is a redis-server or sentinel
        # (never a recycled pid).
        for tries in $(seq 1 40); do
            running "$pid" || break
            sleep 0.05
            : "$tries"
        done
        if running "$pid" && grep -qE 'redis-(server|sentinel)' "/proc/$pid/cmdline" 2>/dev/null; then
            echo "redis-sentinel: shutdown did not stop $pid; killing it"
            kill "$pid" 2>/dev/null || true
            sleep 0.2
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    # Only remove what start created.
    if [[ -n "$dir" && -d "$dir" && "$dir" == */redis-sentinel.* ]]; then
        rm -rf "$dir"
    fi
    rm -f "$state_file"
    echo "redis-sentinel: stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
failover) failover ;;
*)
    echo "usage: $0 start|stop|failover" >&2
    exit 2
    ;;
esac
