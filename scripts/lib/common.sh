# shellcheck shell=bash
# Helpers shared by the scripts that start throwaway Redis deployments (sourced, not run).
# The sourcing script sets `script_name` first: it prefixes every message.

die() {
    echo "${script_name:-script}: $*" >&2
    exit 1
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Milliseconds since the epoch (bash 5's EPOCHREALTIME, no external tool).
now_ms() {
    local now="${EPOCHREALTIME/[.,]/}"
    echo $((10#$now / 1000))
}

# Seconds.milliseconds since $1 (a now_ms value).
elapsed_since() {
    local elapsed=$(($(now_ms) - $1))
    echo "$((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000)))"
}

# True while process $1 runs. A zombie does not count: it has exited, and here (PID 1 of a
# container or VM reaping late) it can stay a zombie for seconds.
running() {
    kill -0 "$1" 2>/dev/null || return 1
    [[ -r "/proc/$1/stat" ]] || return 0
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat%% *}" != Z ]]
}
