#!/usr/bin/env bash
# Starts or stops a throwaway redis-server for the integration tests.
#
#   scripts/redis-test-server.sh start   # free loopback port, no persistence, daemonized
#   scripts/redis-test-server.sh stop    # shut it down and remove its files (idempotent)
#
# `start` writes a state file (path from $REDIS_TEST_STATE, default .build/redis-test-server.env)
# that can be sourced: it exports REDIS_TEST_URL and records the port, pid and temp dir, which
# `stop` reads back.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state_file="${REDIS_TEST_STATE:-$repo_root/.build/redis-test-server.env}"

die() {
    echo "redis-test-server: $*" >&2
    exit 1
}

# Prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        # Let the kernel choose; the port is released at once and redis-server takes it next.
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
        return
    fi
    # No python3: probe a random range until a port does not answer PING.
    local port attempt
    for attempt in $(seq 1 200); do
        port=$((20000 + (RANDOM % 20000)))
        if ! redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
            echo "$port"
            return
        fi
        : "$attempt"
    done
    die "no free port found"
}

start() {
    command -v redis-server >/dev/null 2>&1 || die "redis-server not found (run scripts/install-deps.sh)"
    command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found (run scripts/install-deps.sh)"
    if [[ -f "$state_file" ]]; then
        echo "redis-test-server: stopping the server left from an earlier run"
        stop
    fi
    mkdir -p "$(dirname "$state_file")"

    local attempt port tmpdir pid
    # Another process may grab the chosen port before redis-server binds it: retry a few times.
    for attempt in 1 2 3 4 5; do
        port="$(free_port)"
        tmpdir="$(mktemp -d "${TMPDIR:-/tmp}/redis-test.XXXXXX")"
        if redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
            --dir "$tmpdir" --pidfile "$tmpdir/redis.pid" --logfile "$tmpdir/redis.log"; then
            # Wait up to ~5 s for PING to answer.
            local tries
            for tries in $(seq 1 100); do
                # PONG alone could come from another server that won the race for the port:
                # also check that the one answering uses our pid file.
                if [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true)" == "PONG" ]] &&
                    redis-cli -h 127.0.0.1 -p "$port" config get pidfile 2>/dev/null | grep -qF "$tmpdir/"; then
                    pid="$(cat "$tmpdir/redis.pid" 2>/dev/null || true)"
                    {
                        echo "# written by scripts/redis-test-server.sh start; read by stop"
                        echo "export REDIS_TEST_URL=redis://127.0.0.1:$port"
                        echo "REDIS_TEST_PORT=$port"
                        echo "REDIS_TEST_PID=$pid"
                        echo "REDIS_TEST_TMPDIR=$tmpdir"
                    } >"$state_file"
                    echo "redis-test-server: redis-server $pid on 127.0.0.1:$port (state in $state_file)"
                    return 0
                fi
                : "$tries"
                sleep 0.05
            done
        fi
        echo "redis-test-server: attempt $attempt on port $port failed:" >&2
        tail -n 5 "$tmpdir/redis.log" >&2 2>/dev/null || true
        # Kill whatever may have started, then clean up and try another port.
        if [[ -f "$tmpdir/redis.pid" ]]; then kill "$(cat "$tmpdir/redis.pid")" 2>/dev/null || true; fi
        rm -rf "$tmpdir"
    done
    die "could not start redis-server"
}

stop() {
    if [[ ! -f "$state_file" ]]; then
        echo "redis-test-server: not running (no $state_file)"
        return 0
    fi
    local REDIS_TEST_PORT="" REDIS_TEST_PID="" REDIS_TEST_TMPDIR=""
    # shellcheck source=/dev/null
    source "$state_file"

    if [[ -n "$REDIS_TEST_PORT" ]]; then
        redis-cli -h 127.0.0.1 -p "$REDIS_TEST_PORT" shutdown nosave >/dev/null 2>&1 || true
    fi
    if [[ -n "$REDIS_TEST_PID" ]]; then
        # Wait up to ~2 s for it to exit, then kill it; make sure the pid still is redis-server
        # so that a recycled pid is never killed.
        local tries
        for tries in $(seq 1 40); do
            kill -0 "$REDIS_TEST_PID" 2>/dev/null || break
            sleep 0.05
            : "$tries"
        done
        if kill -0 "$REDIS_TEST_PID" 2>/dev/null &&
            grep -q redis-server "/proc/$REDIS_TEST_PID/cmdline" 2>/dev/null; then
            echo "redis-test-server: shutdown did not stop $REDIS_TEST_PID; killing it"
            kill "$REDIS_TEST_PID" 2>/dev/null || true
            sleep 0.2
            kill -9 "$REDIS_TEST_PID" 2>/dev/null || true
        fi
    fi
    # Only remove what start created.
    if [[ -n "$REDIS_TEST_TMPDIR" && -d "$REDIS_TEST_TMPDIR" && "$REDIS_TEST_TMPDIR" == */redis-test.* ]]; then
        rm -rf "$REDIS_TEST_TMPDIR"
    fi
    rm -f "$state_file"
    echo "redis-test-server: stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
