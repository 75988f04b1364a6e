#!/usr/bin/env bash
# Builds the DocC documentation of every library product into .build/docs (one archive per
# target: .build/docs/ConnectorStatus.doccarchive, .build/docs/RedisClient.doccarchive, …) with
# swift-docc-plugin. docc runs with --warnings-as-errors: a broken ``symbol`` link in a `///`
# comment or a catalog article fails the build. Catalogs: Sources/<Target>/<Target>.docc.
# View an archive locally with:
#   swift package --disable-sandbox preview-documentation --target ConnectorStatus
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v swift >/dev/null 2>&1 && [[ -d /opt/swift/usr/bin ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

targets=(ConnectorStatus RedisClient ConnectorStatusLoadTest ConnectorStatusDiagnostics ConnectorStatusBench EmbeddedRedis)
output=.build/docs

target_args=()
for target in "${targets[@]}"; do
    target_args+=(--target "$target")
done

mkdir -p .build
rm -rf "$output"
# -Xswiftc -warnings-as-errors: the flags scripts/test.sh builds with, so the plugin's build and
# the test build share their objects (either one compiles, the other reuses).
swift package -Xswiftc -warnings-as-errors --disable-sandbox --allow-writing-to-directory "$output" \
    generate-documentation "${target_args[@]}" \
    --warnings-as-errors \
    --output-path "$output"

for target in "${targets[@]}"; do
    if [[ ! -d "$output/$target.doccarchive" ]]; then
        echo "docs: $output/$target.doccarchive was not written" >&2
        exit 1
    fi
done
echo "docs: ok (${targets[*]}) -> $output"
