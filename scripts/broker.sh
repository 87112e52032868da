#!/usr/bin/env bash
# Starts, stops or reports a local RabbitMQ node without systemd: `scripts/broker.sh start|stop|status`.
# Idempotent; run as root. The node listens on 127.0.0.1:5672 only; the guest user works from localhost.
set -euo pipefail

pid_file=${MINER_INDEX_BROKER_PID_FILE:-/var/lib/rabbitmq/miner-index-broker.pid}
start_timeout=${MINER_INDEX_BROKER_START_TIMEOUT:-120}

ctl() { rabbitmqctl "$@"; }

node_pid() {
  [[ -s "$pid_file" ]] || return 1
  local pid
  pid=$(cat "$pid_file")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

is_running() {
  node_pid >/dev/null && ctl status >/dev/null 2>&1
}

start() {
  if is_running; then
    echo "broker: already running (pid $(node_pid))"
    return 0
  fi
  command -v rabbitmq-server >/dev/null || { echo "broker: rabbitmq-server is not installed; run scripts/install-deps.sh" >&2; exit 1; }
  install -d -o rabbitmq -g rabbitmq /var/lib/rabbitmq /var/log/rabbitmq
  rm -f "$pid_file"
  echo "broker: starting RabbitMQ"
  # Loopback only: tests and load generators must not reach beyond this machine.
  RABBITMQ_PID_FILE="$pid_file" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_DIST_PORT=25672 \
    rabbitmq-server -detached
  if ! timeout "$start_timeout" rabbitmqctl wait --timeout "$start_timeout" "$pid_file" >/dev/null 2>&1; then
    echo "broker: RabbitMQ did not start within ${start_timeout}s; see /var/log/rabbitmq/" >&2
    tail -n 30 /var/log/rabbitmq/*.log 2>/dev/null >&2 || true
    exit 1
  fi
  for _ in $(seq 1 "$start_timeout"); do
    if ctl status >/dev/null 2>&1; then
      echo "broker: running (pid $(node_pid)), amqp://guest:***@127.0.0.1:5672/"
      return 0
    fi
    sleep 1
  done
  echo "broker: rabbitmqctl status did not answer within ${start_timeout}s" >&2
  exit 1
}

stop() {
  local pid
  if ! pid=$(node_pid); then
    echo "broker: not running"
    rm -f "$pid_file"
    return 0
  fi
  echo "broker: stopping pid $pid"
  kill "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pid_file"; echo "broker: stopped"; return 0; }
    sleep 1
  done
  echo "broker: pid $pid did not exit in 60s; killing it" >&2
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pid_file"
}

status() {
  if is_running; then
    echo "broker: running (pid $(node_pid))"
  else
    echo "broker: not running"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
