#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine: `config -q` with no profile, then with
# each profile (cluster, demo, both) when the installed compose supports --profile.
# Uses docker-compose (v1, Debian package), else `docker compose` (v2). Exits non-zero on the
# first invalid combination.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
file=docker-compose.yml

if command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
else
    echo "validate-compose: neither docker-compose nor 'docker compose' found" \
        "(Debian: apt-get install -y docker-compose)" >&2
    exit 1
fi

# Runs `config -q` with the given extra arguments and reports the result.
check() {
    local label="$1"
    shift
    if "${compose[@]}" -f "$file" "$@" config -q; then
        echo "validate-compose: ok   ${label}"
    else
        echo "validate-compose: FAIL ${label}" >&2
        return 1
    fi
}

echo "validate-compose: using $("${compose[@]}" version --short 2>/dev/null || echo "${compose[*]}")"
check "default services"

if "${compose[@]}" --help 2>/dev/null | grep -q -- '--profile'; then
    check "--profile cluster" --profile cluster
    check "--profile demo" --profile demo
    check "--profile cluster --profile demo" --profile cluster --profile demo
else
    echo "validate-compose: this compose has no --profile; profiles not validated separately" >&2
fi
