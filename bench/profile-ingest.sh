#!/usr/bin/env bash
# Profiles miner-index (release, --state none) while it drains a queue pre-filled the way bench/ingest.py fills
# it, and prints the top entries by self time and by children. Needs bench/build.sh first and perf.
#   bench/profile-ingest.sh [messages] [output.perf]
# AMQP_URL picks the broker (default the local 5672). The profile covers the whole process life: start-up is a
# few ms against a drain of seconds; the service is stopped as soon as the queue is empty.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-200000}
output=${2:-/tmp/miner-index-drain.perf}
url=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}
bin=${BENCH_SCRATCH:-.build-load-release}/release
prefix=bench.profile
queue=$prefix.logs exchange=$prefix.in dlx=$prefix.dlx dlq=$prefix.dlq
outputs=(--asic-index-exchange $prefix.asic_miner_index --asic-aggregated-exchange $prefix.asic_miner_aggregated_index
  --cpu-gpu-index-exchange $prefix.cpu_gpu_miner_index
  --cpu-gpu-aggregated-exchange $prefix.cpu_gpu_miner_aggregated_index)

"$bin/amqp-drain-bench" declare-input --amqp-url "$url" --queue $queue --exchange $exchange \
  --dead-letter-exchange $dlx --dead-letter-queue $dlq
"$bin/amqp-drain-bench" purge --amqp-url "$url" --queue $queue --also $dlq
"$bin/miner-load" --amqp-url "$url" --exchange $exchange --asic 10000 --cpu-gpu 10000 --rate max \
  --count "$messages" --seed 1 --quiet --json >/dev/null

"$bin/amqp-drain-bench" watch-drain --amqp-url "$url" --queue $queue --expect "$messages" >/tmp/profile-watch.json &
watcher=$!
sleep 1
perf record -e cpu-clock -g -o "$output" -- "$bin/miner-index" --amqp-url "$url" --queue $queue \
  --exchange $exchange --dead-letter-exchange $dlx --dead-letter-queue $dlq --offline-after 1h --http-port 0 \
  --log-level warning --prefetch 500 --state none "${outputs[@]}" 2>/dev/null &
perf_pid=$!
wait $watcher
service=$(pgrep -P $perf_pid miner-index || true)
[ -n "$service" ] && kill -TERM "$service"
wait $perf_pid || true
echo "drain: $(tail -1 /tmp/profile-watch.json)"
perf report -i "$output" --no-children --sort symbol --percent-limit 1.5 --stdio -g none 2>/dev/null | grep -v '^$' | head -40
perf report -i "$output" --children --sort symbol --percent-limit 5 --stdio -g none 2>/dev/null | grep -v '^$' | head -40
