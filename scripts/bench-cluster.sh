#!/usr/bin/env bash
# Starts a throwaway local Redis Cluster (3 masters + 3 replicas), runs
# `connector-status bench-cluster` against it (readiness on the cluster vs one server, the cost of
# WAIT 1, redis-benchmark GET for reference), and stops the cluster.
#
#   bash scripts/bench-cluster.sh                       # defaults: 64 callers, 3 s, 3 rounds
#   bash scripts/bench-cluster.sh --rounds 5 --json     # extra arguments go to bench-cluster
#
# Environment: BENCH_CLUSTER_BASE_PORT (default 7800; the one server uses 7899).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=scripts/install-deps.sh
source "$repo_root/scripts/install-deps.sh" >/dev/null

base_port="${BENCH_CLUSTER_BASE_PORT:-7800}"
state="$(mktemp "${TMPDIR:-/tmp}/bench-cluster.XXXXXX.env")"
export CLUSTER_BASE_PORT="$base_port" REDIS_CLUSTER_STATE="$state"
# shellcheck disable=SC2317  # invoked through the trap
cleanup() { bash "$repo_root/scripts/redis-cluster.sh" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT

swift build -c release --product connector-status >/dev/null
tool="$(swift build -c release --show-bin-path)/connector-status"
bash "$repo_root/scripts/redis-cluster.sh" start
# shellcheck source=/dev/null
source "$state"
# The URL goes through the environment, never a command line (ps shows those to every user).
REDIS_URL="$REDIS_CLUSTER_URL" "$tool" bench-cluster --one-server-port $((base_port + 99)) "$@"
