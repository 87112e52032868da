# miner-index and miner-load, built with the official Swift 6 image on Debian 12 and run on a slim Debian 12.
# Not built on the development machines (they have no Docker engine); `docker-compose config` checks the
# compose file in the tests.

FROM swift:6.1-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends librabbitmq-dev libsimdjson-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY CRabbitMQ CRabbitMQ
COPY Sources Sources
RUN swift build -c release --static-swift-stdlib --product miner-index \
    && swift build -c release --static-swift-stdlib --product miner-load \
    && mkdir /out \
    && cp "$(swift build -c release --show-bin-path)/miner-index" "$(swift build -c release --show-bin-path)/miner-load" /out/

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends librabbitmq4 libsimdjson14 libstdc++6 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home miner
COPY --from=build /out/ /usr/local/bin/
USER miner
# Inside a container the HTTP server must listen beyond loopback for the port mapping to reach it.
ENV MINER_INDEX_HTTP_HOST=0.0.0.0 \
    MINER_INDEX_HTTP_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["miner-index"]
