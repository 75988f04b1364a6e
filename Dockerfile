# syntax=docker/dockerfile:1
# Image of the connector-status tool (demo, ops commands, loadtest, bench, doctor).
#   docker build -t connector-status .
#   docker run --rm connector-status                         # demo on an embedded redis-server
#   docker run --rm -e REDIS_URL=redis://host:6379 connector-status status list --json

# ---- build ----
# Any official Swift >= 6.1 image on Debian bookworm works (tools version 6.1); the runtime
# stage must stay bookworm so libhiredis matches (0.14).
FROM swift:6.1-bookworm AS build

RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis-dev libssl-dev jq \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Resolve dependencies in their own layer: it stays cached while only sources change.
# Package.resolved is optional (git-ignored): the glob lets COPY succeed without it.
COPY Package.swift Package.resolved* ./
# SwiftPM refuses a manifest whose test targets have no folder; Tests/ is not needed to build
# the tool, so give each declared test target an empty stand-in instead of copying it.
RUN swift package dump-package \
    | jq -r '.targets[] | select(.type == "test") | .path // ("Tests/" + .name)' \
    | while read -r dir; do mkdir -p "$dir" && touch "$dir/Placeholder.swift"; done \
    && swift package resolve

COPY Sources ./Sources
COPY lua ./lua

# Static Swift runtime and Foundation: the binary needs only libhiredis, libssl, libstdc++ and libc.
RUN swift build -c release --product connector-status --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/connector-status" /out/connector-status \
    && strip /out/connector-status

# ---- runtime ----
FROM debian:bookworm-slim

# libhiredis0.14: the wire client. libssl3 + ca-certificates: rediss:// (and the system trust
# store). redis-tools: redis-cli and redis-benchmark (bench, doctor).
# redis-server: only for the embedded server used when neither --redis nor REDIS_URL is given.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libhiredis0.14 libssl3 libstdc++6 redis-tools redis-server ca-certificates \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /out/connector-status /usr/local/bin/connector-status

RUN useradd --system --uid 10001 --create-home --home-dir /home/app --shell /usr/sbin/nologin app
USER app
WORKDIR /home/app

ENTRYPOINT ["connector-status"]
CMD ["demo"]
