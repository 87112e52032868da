#!/usr/bin/env bash
# Builds the release binaries the service benchmarks run: miner-index, miner-load and amqp-drain-bench, and the
# bare C consumer on rabbitmq-c (bench/bare_consumer.c) that bench/ingest.py takes as the physical limit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scratch=${BENCH_SCRATCH:-.build-load-release}
for product in miner-index miner-load amqp-drain-bench; do
  swift build -c release --scratch-path "$scratch" --product "$product"
done
mkdir -p "$scratch/release"
gcc -O2 -Wall -Wextra -o "$scratch/release/bare-consumer" bench/bare_consumer.c -lrabbitmq
