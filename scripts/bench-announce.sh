#!/usr/bin/env bash
# The server cost of announcing writes (issue 14, session A): the write scripts of a base git ref
# against those of the working tree, on one private redis-server (unix socket, no persistence),
# driven by redis-benchmark with EVALSHA, interleaved rounds, one PSUBSCRIBE subscriber attached
# (as StatusEvents for every line would be).
#
#   bash scripts/bench-announce.sh [base-ref] [rounds] [requests]
#   SERVER_CPU=1 CLIENT_CPU=0 bash scripts/bench-announce.sh 82620e5 5 200000
#   SUBSCRIBER=0 bash scripts/bench-announce.sh …    # without the subscriber
#
# Prints per scenario and side: ops/s (redis-benchmark, -P 16, one connection) and the server's
# µs per EVALSHA (INFO commandstats), median and min–max over the rounds, and the commands the
# script runs per write (INFO commandstats: calls of every other command / calls of EVALSHA;
# deterministic, unlike the timings on a shared machine).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
base="${1:-HEAD}"
rounds="${2:-5}"
requests="${3:-200000}"
server_cpu="${SERVER_CPU:-1}"
client_cpu="${CLIENT_CPU:-0}"

tmp="$(mktemp -d /tmp/bench-announce.XXXXXX)"
sock="$tmp/redis.sock"
cleanup() {
    [[ -n "${subscriber:-}" ]] && kill "$subscriber" 2>/dev/null || true
    redis-cli -s "$sock" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
taskset -c "$server_cpu" redis-server --port 0 --unixsocket "$sock" --save '' --appendonly no \
    --daemonize yes --pidfile "$tmp/redis.pid" --logfile "$tmp/redis.log" --dir "$tmp"
for _ in $(seq 1 100); do redis-cli -s "$sock" ping >/dev/null 2>&1 && break; sleep 0.05; done
if [[ "${SUBSCRIBER:-1}" == 1 ]]; then
    taskset -c "$client_cpu" redis-cli -s "$sock" psubscribe 'ns:{L*}:ev' >/dev/null &
    subscriber=$!
fi

# The text the library sends for a script at a git ref ('' = working tree): its '#!' line, the
# prelude, the rest (Sources/ConnectorStatus/Scripts/LuaSource.swift).
joined() {
    local ref="$1" name="$2"
    python3 - "$ref" "$name" <<'EOF'
import subprocess, sys
ref, name = sys.argv[1], sys.argv[2]
def read(path):
    if ref == '':
        return open(path).read()
    return subprocess.run(['git', 'show', f'{ref}:{path}'], check=True, capture_output=True, text=True).stdout
body, prelude = read(f'lua/{name}.lua'), read('lua/lib/prelude.lua')
if body.startswith('#!'):
    line, _, rest = body.partition('\n')
    sys.stdout.write(line + '\n' + prelude + rest)
else:
    sys.stdout.write(prelude + body)
EOF
}
load() { redis-cli -s "$sock" script load "$(joined "$1" "$2")"; }

L='ns:{L1}'
dir='d'
token=0123456789abcdef
now=1764000000000
declare -A command
old_update=$(load "$base" status_update)
new_update=$(load '' status_update)
command[update_old]="EVALSHA $old_update 6 $L:st:bot $L:st $L:seq $L:c:$dir:gen $L:ready $L:ver bot 1 '' $now $L:ev DATA n__rand_int__"
command[update_new]="EVALSHA $new_update 7 $L:st:bot $L:st $L:seq $L:c:$dir:gen $L:ready $L:ver $L:ep bot 1 '' $now $L:ev $token $dir DATA n__rand_int__"
old_set=$(load "$base" cache_set)
new_set=$(load '' cache_set)
command[set_old]="EVALSHA $old_set 4 $L:c:$dir:gen $L:c:$dir:e:k__rand_int__ $L:c:$dir:i $L:ver '' payload 60000"
command[set_new]="EVALSHA $new_set 6 $L:c:$dir:gen $L:c:$dir:e:k__rand_int__ $L:c:$dir:i $L:ver $L:seq $L:ep '' payload 60000 1 $now $L:ev $dir k $token"
new_remove=$(load '' cache_remove)
command[remove_old]="UNLINK $L:c:$dir:e:k__rand_int__"
command[remove_new]="EVALSHA $new_remove 3 $L:c:$dir:e:k__rand_int__ $L:seq $L:ep 1 $now $L:ev $dir k $token"
old_clean=$(load "$base" cache_clean)
new_clean=$(load '' cache_clean)
command[clean_old]="EVALSHA $old_clean 4 $L:c:$dir:gen $L:c:$dir:i $L:c:$dir:d:x $L:ver 0"
command[clean_new]="EVALSHA $new_clean 6 $L:c:$dir:gen $L:c:$dir:i $L:c:$dir:d:x $L:ver $L:seq $L:ep 0 1 $now $L:ev $dir $token"

# One run: ops/s, µs per call of the command's first word, and other commands per call, as
# "ops usec inner".
run() {
    local spec="$1" name
    redis-cli -s "$sock" config resetstat >/dev/null
    local -a words
    eval "words=($spec)"
    name=$(printf '%s' "${words[0]}" | tr '[:upper:]' '[:lower:]')
    local ops
    ops=$(taskset -c "$client_cpu" redis-benchmark -s "$sock" -c 1 -P 16 -n "$requests" -r 1000000 --csv "${words[@]}" |
        tail -1 | cut -d, -f2 | tr -d '"')
    local stats usec inner
    stats=$(redis-cli -s "$sock" info commandstats | tr -d '\r')
    usec=$(grep "^cmdstat_$name:" <<<"$stats" | sed -E 's/.*usec_per_call=([0-9.]+).*/\1/')
    inner=$(python3 -c '
import re, sys
name, calls = sys.argv[1], {}
for line in sys.stdin:
    m = re.match(r"cmdstat_([^:]+):calls=(\d+)", line)
    if m: calls[m.group(1)] = int(m.group(2))
top = calls.pop(name, 0)
calls.pop("config", None)
calls.pop("info", None)
print(f"{sum(calls.values()) / top:.2f}" if top else "0")' "$name" <<<"$stats")
    echo "$ops $usec $inner"
}

declare -A samples
for round in $(seq 1 "$rounds"); do
    for scenario in update set remove clean; do
        # Alternate which side goes first.
        if ((round % 2)); then sides="old new"; else sides="new old"; fi
        for side in $sides; do
            samples[${scenario}_$side]+="$(run "${command[${scenario}_$side]}");"
        done
    done
    echo "round $round/$rounds done" >&2
done

python3 - "$base" <<EOF
import statistics, sys
base = sys.argv[1]
data = {
$(for k in "${!samples[@]}"; do echo "    '$k': '${samples[$k]}',"; done)
}
print(f"base {base} vs working tree; subscriber: ${SUBSCRIBER:-1} (PSUBSCRIBE); redis-benchmark -c 1 -P 16")
print(f"{'scenario':<8} {'side':<4} {'ops/s median (min-max)':<30} {'server us/call median (min-max)':<32} commands/write")
for scenario in ['update', 'set', 'remove', 'clean']:
    for side in ['old', 'new']:
        runs = [r.split() for r in data[f'{scenario}_{side}'].split(';') if r]
        ops = [float(r[0]) for r in runs]
        usec = [float(r[1]) for r in runs]
        inner = [float(r[2]) for r in runs]
        print(f"{scenario:<8} {side:<4} {statistics.median(ops):>10.0f} ({min(ops):.0f}-{max(ops):.0f}){'':<6} "
              f"{statistics.median(usec):>6.2f} ({min(usec):.2f}-{max(usec):.2f}){'':<14} {statistics.median(inner):.2f}")
EOF
