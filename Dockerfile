# miner-index and miner-load, built with the official Swift 6.3 image on Debian 12 (the toolchain the tests run
# with) and run on a slim Debian 12 as a non-root user.
# The development machines have no Docker engine, so this image was never built here. scripts/check-image.sh (run by
# .ci/run) proves what it can without one: it runs the build stage's commands on a clean copy of exactly the files
# copied below, checks the pins, and checks that every shared library the binaries need comes from a package that
# the runtime stage installs. Keep build-stage paths relative to WORKDIR so that script can run them.

FROM swift:6.3-bookworm AS build
# GRDB links the system SQLite.
RUN apt-get update \
    && apt-get install -y --no-install-recommends librabbitmq-dev libsimdjson-dev libsqlite3-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Versions: Package.swift asks for `from:` versions, and Package.resolved is not committed (the development
# machines resolve from local mirrors whose commit ids are not GitHub's). Left alone, the image would take the
# newest release of every package, which is how an earlier image met packages needing a newer toolchain. So every
# package of the graph is pinned here, by name, to the version the test suite runs with; check-image.sh fails when
# this list and the resolved graph differ and prints the lines to use. Package.swift alone is enough to resolve, so
# this layer stays cached while only the sources change; the build below may not re-resolve.
COPY Package.swift ./
RUN swift package resolve \
    && swift package resolve async-http-client --version 1.37.0 \
    && swift package resolve grdb.swift --version 7.10.0 \
    && swift package resolve hummingbird --version 2.28.1 \
    && swift package resolve postgres-nio --version 1.33.2 \
    && swift package resolve swift-algorithms --version 1.2.1 \
    && swift package resolve swift-argument-parser --version 1.8.2 \
    && swift package resolve swift-asn1 --version 1.7.4 \
    && swift package resolve swift-async-algorithms --version 1.1.4 \
    && swift package resolve swift-atomics --version 1.3.0 \
    && swift package resolve swift-certificates --version 1.21.1 \
    && swift package resolve swift-collections --version 1.6.0 \
    && swift package resolve swift-configuration --version 1.4.0 \
    && swift package resolve swift-crypto --version 4.5.2 \
    && swift package resolve swift-distributed-tracing --version 1.7.3 \
    && swift package resolve swift-http-structured-headers --version 1.7.0 \
    && swift package resolve swift-http-types --version 1.8.0 \
    && swift package resolve swift-log --version 1.16.2 \
    && swift package resolve swift-metrics --version 2.13.0 \
    && swift package resolve swift-nio --version 2.101.3 \
    && swift package resolve swift-nio-extras --version 1.35.2 \
    && swift package resolve swift-nio-http2 --version 1.46.0 \
    && swift package resolve swift-nio-ssl --version 2.37.6 \
    && swift package resolve swift-nio-transport-services --version 1.28.0 \
    && swift package resolve swift-numerics --version 1.1.1 \
    && swift package resolve swift-prometheus --version 2.4.1 \
    && swift package resolve swift-service-context --version 1.5.1 \
    && swift package resolve swift-service-lifecycle --version 2.13.0 \
    && swift package resolve swift-system --version 1.8.1
COPY CRabbitMQ CRabbitMQ
COPY Sources Sources
# Package.swift names the test targets, so their folders must exist for the package to load.
COPY Tests Tests
RUN swift build -c release --static-swift-stdlib --force-resolved-versions --product miner-index \
    && swift build -c release --static-swift-stdlib --force-resolved-versions --product miner-load \
    && mkdir -p out \
    && cp "$(swift build -c release --show-bin-path)/miner-index" "$(swift build -c release --show-bin-path)/miner-load" out/

FROM debian:bookworm-slim
# The runtime libraries of what the binaries link (check-image.sh checks this list against ldd): rabbitmq-c (with
# OpenSSL), simdjson (C++), SQLite. The Swift runtime and Foundation are linked in statically.
RUN apt-get update \
    && apt-get install -y --no-install-recommends librabbitmq4 libsimdjson14 libsqlite3-0 libstdc++6 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home miner \
    && install -d -o miner -g miner -m 750 /var/lib/miner-index
COPY --from=build /src/out/ /usr/local/bin/
USER miner
# Inside a container the HTTP server must listen beyond loopback for the port mapping to reach it. The state file
# lives in a directory the non-root user owns; docker-compose.yml mounts a named volume there.
ENV MINER_INDEX_HTTP_HOST=0.0.0.0 \
    MINER_INDEX_HTTP_PORT=8080 \
    MINER_INDEX_STATE=/var/lib/miner-index/miner-index.sqlite
VOLUME /var/lib/miner-index
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["miner-index"]
