#!/usr/bin/env bash
# The main job (README's first command): installs what is missing, builds the tool in release
# mode and runs it. With no --redis and no REDIS_URL it starts a private redis-server on a unix
# socket in a temporary directory and stops it when it exits.
#
#   bash scripts/main.sh              # connector-status with its default command
#   bash scripts/main.sh bench        # any subcommand and options are passed through
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# shellcheck source=scripts/install-deps.sh
source "$repo_root/scripts/install-deps.sh"

swift build -c release --product connector-status
exec "$repo_root/.build/release/connector-status" "$@"
