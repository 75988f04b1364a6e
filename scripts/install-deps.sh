#!/usr/bin/env bash
# Installs what building and testing this package needs, and only what is missing:
#   - libhiredis-dev   the C client the CHiredis system-library target links
#   - libssl-dev, openssl   OpenSSL for the COpenSSL target (rediss://) and the TLS tests' certificates
#   - redis-server, redis-tools, redis-sentinel   servers and redis-cli for the tests
#   - docker-compose   to validate the compose file (no Docker engine is needed)
# and checks that a Swift toolchain is reachable.
#
# Works when run as root (CI) and through sudo otherwise. Apt is skipped entirely when every
# package is already installed. May be executed or sourced: when sourced, the PATH fix for
# /opt/swift stays in effect for the caller.
set -euo pipefail

# The Debian packages this project needs.
install_deps_packages=(libhiredis-dev libssl-dev openssl redis-server redis-tools redis-sentinel docker-compose)

# Prints the packages from the list above that dpkg does not report as installed.
install_deps_missing() {
    local package
    for package in "${install_deps_packages[@]}"; do
        if ! dpkg -s "$package" 2>/dev/null | grep -q '^Status: install ok installed'; then
            printf '%s\n' "$package"
        fi
    done
}

install_deps_main() {
    local missing=()
    if command -v dpkg >/dev/null 2>&1; then
        mapfile -t missing < <(install_deps_missing)
    else
        echo "install-deps: dpkg not found; not a Debian system, install these yourself:" \
            "${install_deps_packages[*]}" >&2
    fi

    if ((${#missing[@]} == 0)); then
        echo "install-deps: system packages already installed"
    else
        echo "install-deps: installing ${missing[*]}"
        # Root runs apt directly; anyone else needs sudo.
        local sudo=()
        if ((EUID != 0)); then
            if command -v sudo >/dev/null 2>&1; then
                sudo=(sudo)
            else
                echo "install-deps: not root and sudo is not available; install: ${missing[*]}" >&2
                return 1
            fi
        fi
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
    fi

    # The toolchain: use /opt/swift when swift is not on PATH yet.
    if ! command -v swift >/dev/null 2>&1 && [[ -d /opt/swift/usr/bin ]]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    fi
    if ! command -v swift >/dev/null 2>&1; then
        echo "install-deps: swift not found on PATH (nor in /opt/swift/usr/bin);" \
            "install a Swift 6.1+ toolchain from https://swift.org/install" >&2
        return 1
    fi
    echo "install-deps: using $(command -v swift) ($(swift --version 2>/dev/null | head -n 1))"
}

# Run in both cases; when sourced, report failure with `return` so the caller decides (note that
# sourcing also applies this file's `set -euo pipefail` to the caller's shell).
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    install_deps_main
else
    install_deps_main || return $?
fi
