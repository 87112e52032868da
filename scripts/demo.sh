#!/usr/bin/env bash
# The README's first command: sets up this Debian 12 machine, starts a local RabbitMQ, builds and runs
# miner-index against it with a simulated fleet from miner-load, and shows the snapshots flowing.
# DEMO_DURATION (default 60s) sets how long the fleet reports; DEMO_HTTP_PORT (default 8080) the HTTP port; AMQP_URL
# (default amqp://guest:guest@127.0.0.1:5672/) the broker, which scripts/broker.sh uses if it answers or starts.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
export MINER_INDEX_AMQP_URL=${MINER_INDEX_AMQP_URL:-${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}}
export MINER_LOAD_AMQP_URL=${MINER_LOAD_AMQP_URL:-$MINER_INDEX_AMQP_URL}
duration=${DEMO_DURATION:-60s}
port=${DEMO_HTTP_PORT:-8080}

bash scripts/install-deps.sh
bash scripts/broker.sh start

echo "demo: building miner-index and miner-load (release)"
swift build -c release --product miner-index >/dev/null
swift build -c release --product miner-load >/dev/null
bin=$(swift build -c release --show-bin-path)

"$bin/miner-index" --http-port "$port" --log-level notice &
service_pid=$!
load_pid=""
cleanup() {
  [[ -n "$load_pid" ]] && kill "$load_pid" 2>/dev/null || true
  if kill -0 "$service_pid" 2>/dev/null; then
    echo "demo: stopping miner-index (SIGTERM: final snapshots, then exit)"
    kill -TERM "$service_pid"
    wait "$service_pid" || true
  fi
}
trap cleanup EXIT

for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "demo: miner-index did not become ready" >&2; exit 1; }
echo "demo: miner-index is consuming; starting a fleet of 300 ASICs and 100 CPU/GPU rigs for $duration"

"$bin/miner-load" --asic 300 --cpu-gpu 100 --register --churn --bad-fraction 0.01 --report-interval 5s \
  --duration "$duration" --verify --verify-timeout 30s --quiet &
load_pid=$!

show() {
  local metrics
  metrics=$(curl -fsS "http://127.0.0.1:$port/metrics" || true)
  echo "---- $(date +%T) snapshots published so far:"
  grep '^miner_index_snapshots_published_total' <<<"$metrics" | sed 's/^miner_index_snapshots_published_total/  /' || true
  echo "  asic_miner_aggregated_index:     $(curl -fsS "http://127.0.0.1:$port/v1/asic_miners/aggregated_index")"
  echo "  cpu_gpu_miner_aggregated_index:  $(curl -fsS "http://127.0.0.1:$port/v1/cpu_gpu_miners/aggregated_index")"
}

while kill -0 "$load_pid" 2>/dev/null; do
  sleep 5
  show
done
status=0
wait "$load_pid" || status=$?
load_pid=""
show
if ((status == 0)); then
  echo "demo: miner-load verified the aggregated snapshots against what it sent"
else
  echo "demo: miner-load reported a mismatch (exit $status)" >&2
fi
exit "$status"
