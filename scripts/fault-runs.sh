#!/usr/bin/env bash
# Fault runs under the load test, each on its own throwaway deployment on loopback:
#
#   bash scripts/fault-runs.sh reshard            # redis-cli --cluster reshard of busy lines' slots
#   bash scripts/fault-runs.sh master-kill        # a cluster master killed; its replica promoted
#   bash scripts/fault-runs.sh sentinel-failover  # SENTINEL FAILOVER in the middle of the run
#   bash scripts/fault-runs.sh all
#
# Each run prints the load test's JSON summary and checks it:
#   reshard            0 failed operations and 0 invariant violations
#   master-kill        run twice. With asynchronous writes (Redis's default) the figures are only
#   sentinel-failover  reported: a failover may drop acknowledged writes, and the run shows how
#                      many. With --durable (status writes and cache cleans wait for a replica,
#                      WAIT 1) it must show 0 invariant violations; the writes no replica
#                      confirmed are counted as typed errors (`notReplicated`), as are the
#                      connection errors while the master was down (anything untyped would be
#                      the `unexpected_errors` violation).
# The reshard and the durable runs read through a near cache in every instance (`--near-cache`):
# their checks include `stale_near_cache_reads` (a near cache that served a version longer than
# its bound after the next was acknowledged), and the staleness histogram is printed. The
# asynchronous runs stay on the plain path: a failover may drop an acknowledged write there, which
# the staleness probe cannot tell from a stale read.
# The script exits non-zero when a check fails.
#
# Environment: FAULT_DURATION (seconds of load, default 20), FAULT_NODE_TIMEOUT (cluster-node-timeout
# in ms, default 2000), FAULT_BASE_PORT (default 7600; sentinel servers use 7700, sentinels 26700).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=scripts/install-deps.sh
source "$repo_root/scripts/install-deps.sh" >/dev/null

duration="${FAULT_DURATION:-20}"
node_timeout="${FAULT_NODE_TIMEOUT:-2000}"
base_port="${FAULT_BASE_PORT:-7600}"
work="$(mktemp -d "${TMPDIR:-/tmp}/fault-runs.XXXXXX")"
export CLUSTER_BASE_PORT="$base_port" REDIS_CLUSTER_STATE="$work/cluster.env"
export SENTINEL_BASE_PORT=$((base_port + 100)) SENTINEL_PORT=$((base_port + 19100)) REDIS_SENTINEL_STATE="$work/sentinel.env"

# shellcheck disable=SC2317  # invoked through the trap
cleanup() {
    bash "$repo_root/scripts/redis-cluster.sh" stop >/dev/null 2>&1 || true
    bash "$repo_root/scripts/redis-sentinel.sh" stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "== swift build -c release --product connector-status"
swift build -c release --product connector-status >/dev/null
tool="$(swift build -c release --show-bin-path)/connector-status"

# loadtest URL OUT: the load test in the background, its JSON summary written to OUT.
start_load() {
    # shellcheck disable=SC2086  # LOAD_OPTIONS is a list of options
    # The URL through the environment: never on a command line, where ps shows it.
    REDIS_URL="$1" "$tool" loadtest ${LOAD_OPTIONS:-} --instances 2 --tasks 16 --lines 50 --connectors 10 \
        --duration "$duration" --external-faults --json >"$2" 2>"$2.log" &
    load_pid=$!
}

# check NAME OUT MAX_ERRORS: prints the summary and fails when violations > 0 or errors > MAX_ERRORS
# (MAX_ERRORS "report": print only, never fail).
check() {
    local name="$1" out="$2" max_errors="$3"
    python3 - "$name" "$out" "$max_errors" <<'PY'
import json, sys
name, path, max_errors = sys.argv[1], sys.argv[2], sys.argv[3]
summary = json.load(open(path))
violations = summary["violations"]
total = sum(v for v in violations.values() if isinstance(v, int))
print(f"{name}: {summary['ops']} ops, {summary['ops_per_sec']:.0f} ops/s, errors {summary['errors']}, "
      f"violations {violations}, elapsed {summary['elapsed_seconds']:.1f} s")
staleness = summary.get("near_cache_staleness_us")
if staleness:
    print(f"{name}: near cache: {staleness['versions']} probe versions, {staleness['reads']} reads, "
          f"acknowledged -> served {staleness['latency']}, {staleness['violations']} older than the bound")
if max_errors == "report":
    print(f"{name}: reported only (asynchronous replication: acknowledged writes can be lost in a failover)")
    sys.exit(0)
ok = total == 0 and (max_errors == "any" or summary["errors"] <= int(max_errors))
for sample in summary.get("error_samples", [])[:3]:
    print(f"{name}:   e.g. {sample}")
for sample in summary.get("unexpected_error_samples", [])[:5]:
    print(f"{name}:   unexpected: {sample}")
print(f"{name}: {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
}

# The id and address of the master serving `slot`.
master_of_slot() {
    redis-cli -p "$base_port" cluster nodes | awk -v slot="$1" '$3 ~ /master/ {
        for (i = 9; i <= NF; i++) {
            n = split($i, r, "-"); lo = r[1]; hi = (n == 2 ? r[2] : r[1]);
            if (lo ~ /^[0-9]+$/ && slot >= lo + 0 && slot <= hi + 0) { print $1, $2; exit }
        }
    }'
}

run_reshard() {
    LOAD_OPTIONS="--near-cache"
    echo "== reshard: busy lines' slots move between masters under load"
    CLUSTER_NODE_TIMEOUT="$node_timeout" bash scripts/redis-cluster.sh start
    # shellcheck source=/dev/null
    source "$REDIS_CLUSTER_STATE"
    start_load "$REDIS_CLUSTER_URL" "$work/reshard.json"
    sleep 3
    # Line 1 is the busiest (Zipf); move every slot of its master up to and past its slot.
    local slot source_id source_addr target_id first count
    slot="$(redis-cli -p "$base_port" cluster keyslot "{L1}")"
    read -r source_id source_addr < <(master_of_slot "$slot")
    target_id="$(redis-cli -p "$base_port" cluster nodes | awk -v s="$source_id" '$3 ~ /master/ && $1 != s { print $1; exit }')"
    first="$(redis-cli -p "$base_port" cluster nodes | awk -v s="$source_id" '$1 == s { split($9, r, "-"); print r[1] }')"
    count=$((slot - first + 200))
    echo "reshard: $count slots from ${source_addr%@*} (holds {L1} = slot $slot) to $target_id"
    local began=$SECONDS
    redis-cli --cluster reshard "127.0.0.1:$base_port" --cluster-from "$source_id" --cluster-to "$target_id" \
        --cluster-slots "$count" --cluster-yes --cluster-pipeline 50 >"$work/reshard.log" 2>&1
    echo "reshard: moved in $((SECONDS - began)) s; moving as many slots back from the target"
    began=$SECONDS
    redis-cli --cluster reshard "127.0.0.1:$base_port" --cluster-from "$target_id" --cluster-to "$source_id" \
        --cluster-slots "$count" --cluster-yes --cluster-pipeline 50 >>"$work/reshard.log" 2>&1
    echo "reshard: moved back in $((SECONDS - began)) s, $(grep -c '^Moving slot' "$work/reshard.log") slot moves in all"
    kill -0 "$load_pid" 2>/dev/null || echo "reshard: WARNING: the load test ended before the reshard did"
    wait "$load_pid"
    bash scripts/redis-cluster.sh stop >/dev/null
    check reshard "$work/reshard.json" 0
}

# run_master_kill async|durable
run_master_kill() {
    local mode="$1"
    LOAD_OPTIONS=""
    if [[ "$mode" == durable ]]; then LOAD_OPTIONS="--durable --near-cache"; fi
    echo "== master-kill ($mode writes): the master of the busiest line dies under load"
    CLUSTER_NODE_TIMEOUT="$node_timeout" bash scripts/redis-cluster.sh start
    # shellcheck source=/dev/null
    source "$REDIS_CLUSTER_STATE"
    start_load "$REDIS_CLUSTER_URL" "$work/kill.json"
    sleep 4
    local slot victim_id victim_addr port
    slot="$(redis-cli -p "$base_port" cluster keyslot "{L1}")"
    read -r victim_id victim_addr < <(master_of_slot "$slot")
    port="${victim_addr#*:}"
    port="${port%@*}"
    echo "master-kill: shutting down 127.0.0.1:$port at $(date +%T.%N | cut -c1-12) (node-timeout $node_timeout ms)"
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    local killed=$SECONDS
    until [[ "$(redis-cli -p "$base_port" cluster nodes 2>/dev/null | grep -c 'master' || true)" -ge 4 ]] &&
        redis-cli -p "$( [[ "$port" == "$base_port" ]] && echo $((base_port + 1)) || echo "$base_port")" cluster info |
        grep -q 'cluster_state:ok'; do
        ((SECONDS - killed < 30)) || break
        sleep 0.1
    done
    echo "master-kill: cluster_state ok again after about $((SECONDS - killed)) s; $victim_id replaced"
    wait "$load_pid"
    bash scripts/redis-cluster.sh stop >/dev/null
    check "master-kill ($mode)" "$work/kill.json" "$([[ "$mode" == durable ]] && echo any || echo report)"
}

# run_sentinel_failover async|durable
run_sentinel_failover() {
    local mode="$1"
    LOAD_OPTIONS=""
    if [[ "$mode" == durable ]]; then LOAD_OPTIONS="--durable --near-cache"; fi
    echo "== sentinel-failover ($mode writes): SENTINEL FAILOVER under load"
    bash scripts/redis-sentinel.sh start
    # shellcheck source=/dev/null
    source "$REDIS_SENTINEL_STATE"
    start_load "$REDIS_SENTINEL_URL" "$work/sentinel.json"
    sleep 4
    echo "sentinel-failover: new master $(bash scripts/redis-sentinel.sh failover | tail -1) at $(date +%T)"
    wait "$load_pid"
    bash scripts/redis-sentinel.sh stop >/dev/null
    check "sentinel-failover ($mode)" "$work/sentinel.json" "$([[ "$mode" == durable ]] && echo any || echo report)"
}

status=0
case "${1:-all}" in
reshard) run_reshard || status=1 ;;
master-kill)
    run_master_kill async || status=1
    run_master_kill durable || status=1
    ;;
sentinel-failover)
    run_sentinel_failover async || status=1
    run_sentinel_failover durable || status=1
    ;;
all)
    run_reshard || status=1
    run_master_kill async || status=1
    run_master_kill durable || status=1
    run_sentinel_failover async || status=1
    run_sentinel_failover durable || status=1
    ;;
*)
    echo "usage: $0 reshard|master-kill|sentinel-failover|all" >&2
    exit 2
    ;;
esac
exit "$status"
