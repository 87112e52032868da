#!/usr/bin/env bash
# Starts, stops or reports the Prometheus server the observability test scrapes miner-index with, without systemd:
# `scripts/prometheus.sh start|stop|status|targets`. Idempotent; run as root.
#
# - start: if a Prometheus already answers at the URL, uses it and says so; otherwise starts Debian's `prometheus`
#   on the URL's loopback port, as the `prometheus` user, with a data directory of this script's own and a
#   configuration that scrapes every second the targets listed in the targets directory (file service discovery,
#   job `miner-index`) and evaluates deploy/prometheus/rules.yml. Fails at once when the port is taken by
#   something that is not Prometheus.
# - stop: stops only the server this script started (its pid file); a Prometheus started otherwise keeps running.
# - status: exit 0 when Prometheus answers at the URL, 3 when nothing listens there, 1 otherwise.
# - targets: prints the targets directory: a file `NAME.json` there (`[{"targets": ["127.0.0.1:PORT"]}]`) adds a
#   target to the server this script started. A Prometheus started otherwise scrapes what its own configuration says.
#
# Environment (defaults in brackets):
#   MINER_INDEX_PROMETHEUS_URL            [http://127.0.0.1:9090] the server to use or start
#   MINER_INDEX_PROMETHEUS_DATA           [/var/lib/miner-index-prometheus] configuration, targets, storage, log, pid
#   MINER_INDEX_PROMETHEUS_START_TIMEOUT  [60] seconds to wait for a started server
set -euo pipefail
cd "$(dirname "$0")/.."

url=${MINER_INDEX_PROMETHEUS_URL:-http://127.0.0.1:9090}
data=$(realpath -m "${MINER_INDEX_PROMETHEUS_DATA:-/var/lib/miner-index-prometheus}")
start_timeout=${MINER_INDEX_PROMETHEUS_START_TIMEOUT:-60}
pid_file=$data/prometheus.pid
targets=$data/targets

fail() { echo "prometheus: $*" >&2; exit 1; }

[[ "$url" =~ ^http://(127\.[0-9.]+|localhost):([0-9]+)/?$ ]] ||
  fail "MINER_INDEX_PROMETHEUS_URL must be http://127.x.x.x:PORT or http://localhost:PORT (loopback only), not $url"
host=${BASH_REMATCH[1]}
port=${BASH_REMATCH[2]}
url=http://$host:$port

# Prints "ok VERSION", "none" (nothing listens) or "other WHAT ANSWERED".
probe() {
  if ! timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null; then
    echo none
    return
  fi
  local answer
  if ! answer=$(curl -fsS --max-time 5 "$url/api/v1/status/buildinfo" 2>&1); then
    echo "other $(tr '\n' ' ' <<<"$answer")"
    return
  fi
  local version
  version=$(python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["status"]=="success"; print(d["data"]["version"])' \
    <<<"$answer" 2>/dev/null) || { echo "other an HTTP server that is not Prometheus's API"; return; }
  echo "ok $version"
}

started_by_this_script() {
  [[ -s "$pid_file" ]] && kill -0 "$(<"$pid_file")" 2>/dev/null &&
    [[ "$(cat /proc/"$(<"$pid_file")"/comm 2>/dev/null)" == prometheus ]]
}

write_configuration() {
  install -d -o prometheus -g prometheus "$data" "$data/tsdb" "$targets"
  install -o prometheus -g prometheus -m 644 deploy/prometheus/rules.yml "$data/rules.yml"
  cat >"$data/prometheus.yml" <<EOF
# Written by scripts/prometheus.sh: scrape what $targets lists, every second.
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $data/rules.yml
scrape_configs:
  - job_name: miner-index
    file_sd_configs:
      - files: ['$targets/*.json']
        refresh_interval: 1s
EOF
  chown prometheus:prometheus "$data/prometheus.yml"
}

start() {
  local state
  state=$(probe)
  case "$state" in
    ok*)
      if started_by_this_script; then
        echo "prometheus: running (pid $(<"$pid_file"), ${state#ok }), $url"
      else
        echo "prometheus: using Prometheus ${state#ok } at $url (not started by this script; it scrapes what its own configuration says)"
      fi
      return
      ;;
    other*) fail "something that is not Prometheus answers at $url (${state#other }); set MINER_INDEX_PROMETHEUS_URL to another port" ;;
  esac
  command -v prometheus >/dev/null || fail "Debian's prometheus is not installed; run scripts/install-deps.sh"
  write_configuration
  # Started through setsid so that it outlives this shell and ignores the caller's terminal signals.
  setsid setpriv --reuid prometheus --regid prometheus --init-groups prometheus \
    --config.file="$data/prometheus.yml" --storage.tsdb.path="$data/tsdb" --storage.tsdb.retention.time=1d \
    --web.listen-address="$host:$port" --web.enable-lifecycle >"$data/prometheus.log" 2>&1 </dev/null &
  echo $! >"$pid_file"
  local deadline=$((SECONDS + start_timeout))
  while ((SECONDS < deadline)); do
    if curl -fsS --max-time 2 "$url/-/ready" >/dev/null 2>&1; then
      echo "prometheus: started (pid $(<"$pid_file"), $(probe | cut -d' ' -f2)), $url, data in $data"
      return
    fi
    kill -0 "$(<"$pid_file")" 2>/dev/null || { tail -n 20 "$data/prometheus.log" >&2; fail "prometheus exited at start"; }
    sleep 0.5
  done
  tail -n 20 "$data/prometheus.log" >&2
  fail "prometheus did not become ready within ${start_timeout}s"
}

stop() {
  if ! started_by_this_script; then
    rm -f "$pid_file"
    echo "prometheus: nothing of this script's own runs; a server started otherwise keeps running"
    return
  fi
  local pid
  pid=$(<"$pid_file")
  kill "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$pid_file"
  echo "prometheus: stopped (pid $pid)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    state=$(probe)
    case "$state" in
      ok*) echo "prometheus: answering at $url (${state#ok })"; exit 0 ;;
      none) echo "prometheus: nothing listens at $url"; exit 3 ;;
      *) echo "prometheus: ${state#other } at $url"; exit 1 ;;
    esac
    ;;
  targets) echo "$targets" ;;
  *) fail "usage: scripts/prometheus.sh start|stop|status|targets" ;;
esac
