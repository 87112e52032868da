#!/usr/bin/env bash
# Starts, stops or reports the RabbitMQ broker at AMQP_URL without systemd: `scripts/broker.sh start|stop|status|node`.
# Idempotent; run as root.
#
# - start: if a broker already answers at AMQP_URL (an AMQP 0-9-1 handshake and login with the URL's credentials
#   and vhost), uses it and says so; otherwise starts a node on the URL's loopback port (127.0.0.1 only; the guest
#   user works from localhost). Fails at once when the port is taken by something that is not a usable broker.
# - stop: stops only a node this script started (its pid file); a broker started otherwise keeps running.
# - status: exit 0 when a usable broker answers at AMQP_URL, 3 when nothing listens there, 1 otherwise.
# - node: prints the Erlang node name that serves AMQP_URL, for rabbitmqctl (RABBITMQ_NODENAME); fails when
#   rabbitmqctl cannot reach such a node.
#
# Environment (defaults in brackets):
#   AMQP_URL                          [amqp://guest:guest@127.0.0.1:5672/] the broker to use or start
#   MINER_INDEX_BROKER_NODENAME       [$RABBITMQ_NODENAME, else rabbit@HOST on port 5672, miner-index-PORT@HOST on others]
#   MINER_INDEX_BROKER_DIST_PORT      [25672 on port 5672, PORT+20000 on others] Erlang distribution port
#   MINER_INDEX_BROKER_BASE           [Debian's /var/lib/rabbitmq and /var/log/rabbitmq on port 5672,
#                                      /var/lib/rabbitmq/miner-index-PORT on others] data and log directory
#   MINER_INDEX_BROKER_PID_FILE       [/var/lib/rabbitmq/miner-index-broker.pid on port 5672, BASE/pid on others]
#   MINER_INDEX_BROKER_START_TIMEOUT  [120] seconds to wait for a started node
set -euo pipefail

url=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}
start_timeout=${MINER_INDEX_BROKER_START_TIMEOUT:-120}
probe_timeout=5

fail() { echo "broker: $*" >&2; exit 1; }

percent_decode() { local escaped=${1//\\/\\\\}; printf '%b' "${escaped//%/\\x}"; }

# amqp://user:password@host:port/vhost, as rabbitmq-c reads it: an empty path or "/" is the vhost "/".
url_pattern='^(amqps?)://(([^:@/]*)(:([^@/]*))?@)?(\[[^]/]+\]|[^:/?]*)(:([0-9]+))?(/([^?]*))?(\?.*)?$'
[[ "$url" =~ $url_pattern ]] || fail "AMQP_URL is not an amqp:// URL: ${url%%@*}…"
scheme=${BASH_REMATCH[1]}
user=$(percent_decode "${BASH_REMATCH[3]:-guest}")
password=$(percent_decode "${BASH_REMATCH[5]:-guest}")
host=${BASH_REMATCH[6]:-127.0.0.1}
host=${host#[}; host=${host%]}
port=${BASH_REMATCH[8]:-5672}
vhost=$(percent_decode "${BASH_REMATCH[10]:-}")
vhost=${vhost:-/}
[[ "$scheme" == amqp ]] || fail "AMQP_URL is $scheme://; this script checks and starts plain-AMQP brokers only"
shown_url="amqp://$user:***@$host:$port/"

short_host=$(hostname -s)
if [[ "$port" == 5672 ]]; then
  nodename=${MINER_INDEX_BROKER_NODENAME:-${RABBITMQ_NODENAME:-rabbit@$short_host}}
  dist_port=${MINER_INDEX_BROKER_DIST_PORT:-25672}
  base=${MINER_INDEX_BROKER_BASE:-}
  pid_file=${MINER_INDEX_BROKER_PID_FILE:-${base:-/var/lib/rabbitmq}/miner-index-broker.pid}
else
  nodename=${MINER_INDEX_BROKER_NODENAME:-${RABBITMQ_NODENAME:-miner-index-$port@$short_host}}
  dist_port=${MINER_INDEX_BROKER_DIST_PORT:-$((port + 20000))}
  base=${MINER_INDEX_BROKER_BASE:-/var/lib/rabbitmq/miner-index-$port}
  pid_file=${MINER_INDEX_BROKER_PID_FILE:-$base/pid}
fi
log_dir=${base:+$base/log}
log_dir=${log_dir:-/var/log/rabbitmq}

is_loopback() { [[ "$host" == localhost || "$host" == 127.* || "$host" == ::1 ]]; }

# ---- AMQP 0-9-1 probe: protocol header, Connection.Start, Start-Ok (PLAIN), Tune, Tune-Ok, Open, Close. ----
# Bytes travel as lowercase hex strings, since bash variables cannot hold NUL bytes.

hex_of() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
text_of() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")" | tr -c '[:print:]' '.'; }
hex8() { printf '%02x' "$1"; }
hex16() { printf '%04x' "$1"; }
hex32() { printf '%08x' "$1"; }
shortstr() { local h; h=$(hex_of "$1"); echo "$(hex8 $((${#h} / 2)))$h"; }

send_hex() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")" >&3; }
send_method() { send_hex "01$(hex16 0)$(hex32 $((${#1} / 2)))${1}ce"; }

# Reads exactly $1 bytes (dd with bs=1 never reads past them) and prints them as hex; returns 1 when fewer came
# before the end of the stream, 3 when the peer went quiet for probe_timeout.
read_hex() {
  local hex status=0
  hex=$(timeout "$probe_timeout" dd bs=1 count="$1" <&3 2>/dev/null | od -An -v -tx1 | tr -d ' \n') || status=$?
  printf '%s' "$hex"
  ((${#hex} == 2 * $1)) && return 0
  ((status == 124)) && return 3
  return 1
}

# Reads one frame into frame_type and frame_payload (hex); returns read_hex's status, or 2 when the bytes are no
# AMQP frame (frame_payload then holds what came).
read_frame() {
  local header size end status=0
  header=$(read_hex 7) || status=$?
  if ((status != 0)); then frame_payload=$header; return "$status"; fi
  frame_type=$((16#${header:0:2}))
  size=$((16#${header:6:8}))
  if ((frame_type != 1 && frame_type != 2 && frame_type != 3 && frame_type != 8)) || ((size > 1048576)); then
    frame_payload=$header$(read_hex 25 || true)
    return 2
  fi
  frame_payload=$(read_hex "$size") || return $?
  end=$(read_hex 1) || return $?
  [[ "$end" == ce ]] || return 2
}

# The value of a longstr field of the server-properties table, found by its key.
server_property() {
  local key rest
  key="$(shortstr "$2")53"
  rest=${1#*"$key"}
  [[ "$rest" != "$1" ]] && (((${#1} - ${#rest}) % 2 == 0)) || return 0
  text_of "${rest:8:$((2 * 16#${rest:0:8}))}"
}

plain_response() { # longstr NUL user NUL password, built in hex since bash strings cannot hold NUL
  local body
  body="00$(hex_of "$user")00$(hex_of "$password")"
  echo "$(hex32 $((${#body} / 2)))$body"
}

close_reason() { # a Connection.Close payload: reply code and text
  local code=$((16#${1:8:4})) length=$((16#${1:12:2}))
  echo "$code $(text_of "${1:14:$((2 * length))}")"
}

# Prints one line: "ok PRODUCT VERSION", "none" (nothing listens), "silent WHAT HAPPENED", "not-amqp WHAT IT SAID"
# or "refused REASON".
amqp_probe() {
  if ! is_loopback; then # a remote connect can hang where loopback answers or refuses at once
    local connect_status=0
    timeout "$probe_timeout" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null || connect_status=$?
    if ((connect_status == 124)); then echo "silent connecting timed out"; return; fi
    if ((connect_status != 0)); then echo none; return; fi
  fi
  (
    exec 2>/dev/null
    exec 3<>"/dev/tcp/$host/$port" || { echo none; exit; }
    export LC_ALL=C
    trap '' PIPE # a peer that hangs up makes a write fail, not kill the probe
    send_hex "$(hex_of AMQP)00000901"
    frame_status=0; read_frame || frame_status=$?
    if [[ -z "$frame_payload" ]]; then
      if ((frame_status == 3)); then
        echo "silent it accepted a connection but did not answer the AMQP protocol header within ${probe_timeout}s"
      else
        echo "not-amqp it closed the connection without answering the AMQP protocol header"
      fi
      exit
    fi
    if ((frame_status != 0)) || [[ "${frame_payload:0:8}" != 000a000a ]]; then
      if [[ "${frame_payload:0:8}" == "$(hex_of AMQP)" ]]; then
        echo "not-amqp it speaks AMQP but not version 0-9-1 (it answered with protocol header ${frame_payload:8:8})"
      else
        echo "not-amqp it answered '$(text_of "${frame_payload:0:64}")'"
      fi
      exit
    fi
    product=$(server_property "$frame_payload" product)
    version=$(server_property "$frame_payload" version)
    # client-properties: capabilities.authentication_failure_close, so a refused login is reported, not just closed.
    capability="$(shortstr authentication_failure_close)7401"
    capabilities="$(shortstr capabilities)46$(hex32 $((${#capability} / 2)))$capability"
    send_method "000a000b$(hex32 $((${#capabilities} / 2)))$capabilities$(shortstr PLAIN)$(plain_response)$(shortstr en_US)"
    read_frame || { echo "refused it closed the connection after the login of user '$user'"; exit; }
    case "${frame_payload:0:8}" in
      000a001e) ;;
      000a0032) echo "refused $(close_reason "$frame_payload")"; exit ;;
      *) echo "refused unexpected method ${frame_payload:0:8} after the login"; exit ;;
    esac
    # Tune-Ok takes the broker's channel and frame limits (RabbitMQ refuses "no limit"), without heartbeats.
    send_method "000a001f${frame_payload:8:4}${frame_payload:12:8}$(hex16 0)"
    send_method "000a0028$(shortstr "$vhost")0000"
    read_frame || { echo "refused it closed the connection when opening vhost '$vhost'"; exit; }
    case "${frame_payload:0:8}" in
      000a0029) ;;
      000a0032) echo "refused $(close_reason "$frame_payload")"; exit ;;
      *) echo "refused unexpected method ${frame_payload:0:8} when opening vhost '$vhost'"; exit ;;
    esac
    send_method "000a0032$(hex16 200)00$(hex16 0)$(hex16 0)"
    read_frame || true
    echo "ok ${product:-AMQP broker} ${version:-}"
  )
}

# ---- the node this script starts and stops ----

own_pid() { # the pid of the node this script started, if it still runs
  [[ -s "$pid_file" ]] || return 1
  local pid
  pid=$(<"$pid_file")
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # A pid file outliving its node must not make us signal whatever process got the pid since.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q beam || return 1
  echo "$pid"
}

port_listens() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }

how_to_point_elsewhere() {
  echo "broker: to use another broker, or to have this script start one on a free port, set AMQP_URL," \
    "e.g. AMQP_URL=amqp://guest:guest@127.0.0.1:5673/ bash scripts/broker.sh start (tests and scripts read the same AMQP_URL)" >&2
}

# Exits with a message unless the probe's answer is a usable broker.
require_usable() {
  local answer=$1
  case "$answer" in
    ok\ *) return 0 ;;
    silent\ * | not-amqp\ *)
      echo "broker: $host:$port is taken by something that is not an AMQP 0-9-1 broker: ${answer#* }" >&2
      how_to_point_elsewhere
      exit 1 ;;
    refused\ *)
      echo "broker: an AMQP broker answers at $host:$port but refused $shown_url (vhost '$vhost'): ${answer#* }" >&2
      echo "broker: fix the user, password or vhost in AMQP_URL, or point AMQP_URL at another broker" >&2
      exit 1 ;;
    *) fail "the AMQP check of $host:$port gave no answer ('$answer')" ;;
  esac
}

start_node() {
  is_loopback || fail "nothing answers at $host:$port, and this script starts brokers on this machine's loopback only; point AMQP_URL at a running broker, or at 127.0.0.1"
  command -v rabbitmq-server >/dev/null || fail "rabbitmq-server is not installed; run scripts/install-deps.sh"
  if port_listens 127.0.0.1 "$dist_port"; then
    fail "the Erlang distribution port $dist_port that node $nodename would use is taken; set MINER_INDEX_BROKER_DIST_PORT to a free port"
  fi
  if epmd -names 2>/dev/null | grep -q "^name ${nodename%@*} at port"; then
    fail "an Erlang node named $nodename already runs here but does not answer at $host:$port; set MINER_INDEX_BROKER_NODENAME, or point AMQP_URL at that node's port"
  fi
  local node_env=(RABBITMQ_NODENAME="$nodename" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$port"
    RABBITMQ_DIST_PORT="$dist_port" RABBITMQ_PID_FILE="$pid_file")
  if [[ -n "$base" ]]; then
    # A node of its own: its own database, logs and plugin list (no management listener competing for :15672).
    install -d -o rabbitmq -g rabbitmq "$base" "$base/mnesia" "$log_dir"
    [[ -s "$base/enabled_plugins" ]] || echo '[].' >"$base/enabled_plugins"
    chown rabbitmq:rabbitmq "$base/enabled_plugins"
    node_env+=(RABBITMQ_MNESIA_BASE="$base/mnesia" RABBITMQ_LOG_BASE="$log_dir"
      RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins")
  else
    install -d -o rabbitmq -g rabbitmq /var/lib/rabbitmq /var/log/rabbitmq
  fi
  install -d -o rabbitmq -g rabbitmq "$(dirname "$pid_file")"
  rm -f "$pid_file"
  echo "broker: starting RabbitMQ node $nodename on 127.0.0.1:$port"
  # Loopback only: tests and load generators must not reach beyond this machine.
  env "${node_env[@]}" rabbitmq-server -detached
  if ! timeout "$start_timeout" rabbitmqctl -n "$nodename" wait --timeout "$start_timeout" "$pid_file" >/dev/null 2>&1; then
    echo "broker: RabbitMQ did not start within ${start_timeout}s; see $log_dir/" >&2
    tail -n 30 "$log_dir"/*.log 2>/dev/null >&2 || true
    exit 1
  fi
  local answer
  for _ in $(seq 1 "$start_timeout"); do
    answer=$(amqp_probe)
    if [[ "$answer" == ok\ * ]]; then
      echo "broker: running (pid $(own_pid), node $nodename), $shown_url"
      return 0
    fi
    [[ "$answer" == refused\ * ]] && require_usable "$answer"
    sleep 1
  done
  fail "node $nodename started but did not answer AMQP at $host:$port within ${start_timeout}s: $answer"
}

start() {
  local answer pid
  answer=$(amqp_probe)
  if [[ "$answer" != none ]]; then
    require_usable "$answer"
    if pid=$(own_pid); then
      echo "broker: already running (pid $pid, started by this script), $shown_url"
    else
      echo "broker: using ${answer#ok } that already answers at $shown_url (not started by this script, so 'stop' leaves it running)"
    fi
    return 0
  fi
  if pid=$(own_pid); then
    fail "the node this script started (pid $pid, $nodename) runs but nothing answers at $host:$port; stop it with 'scripts/broker.sh stop' or check $log_dir/"
  fi
  start_node
}

stop() {
  local pid
  if ! pid=$(own_pid); then
    rm -f "$pid_file"
    local answer
    answer=$(amqp_probe)
    case "$answer" in
      none) echo "broker: not running" ;;
      ok\ *) echo "broker: leaving the broker at $host:$port running: this script did not start it" ;;
      *) echo "broker: nothing this script started runs; $host:$port is held by something else, left alone (${answer#* })" ;;
    esac
    return 0
  fi
  echo "broker: stopping node $nodename (pid $pid)"
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
  local answer pid
  answer=$(amqp_probe)
  if [[ "$answer" == none ]]; then
    echo "broker: not running (nothing listens at $host:$port)"
    return 3
  fi
  require_usable "$answer"
  if pid=$(own_pid); then
    echo "broker: running: ${answer#ok } at $shown_url (pid $pid, node $nodename, started by this script)"
  else
    echo "broker: running: ${answer#ok } at $shown_url (not started by this script)"
  fi
}

# The broker-backed tests break and restart the broker with rabbitmqctl, which must therefore reach the node that
# serves AMQP_URL and no other.
node_name() {
  require_usable "$(amqp_probe)"
  local listeners
  listeners=$(rabbitmq-diagnostics -q -n "$nodename" listeners 2>&1) ||
    fail "rabbitmqctl cannot reach node $nodename: set RABBITMQ_NODENAME to the node that serves $host:$port ($(head -n 1 <<<"$listeners"))"
  grep -q "port: $port, protocol: amqp" <<<"$listeners" ||
    fail "node $nodename does not serve AMQP on port $port; set RABBITMQ_NODENAME to the node that does"
  echo "$nodename"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  node) node_name ;;
  *) echo "usage: $0 start|stop|status|node" >&2; exit 2 ;;
esac
