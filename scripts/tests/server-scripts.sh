#!/usr/bin/env bash
# Tests scripts/broker.sh, scripts/postgres.sh and scripts/prometheus.sh on ports of their own (never 5672, 5432 or
# 9090), as root:
# - nothing at the URL: start starts a server, status reports it as the script's, start again reuses it, stop stops it;
# - a server started outside the script: start uses it and says so without starting another, status reports it,
#   stop leaves it running;
# - the port taken by something that is not that server: start, status and stop fail at once (or leave it alone)
#   with a message naming the variable that points the commands elsewhere.
# SERVER_SCRIPTS_TEST_PORT (default 15800) is the first of the ports used: PORT and PORT+1 for RabbitMQ,
# PORT+2 and PORT+3 for PostgreSQL, PORT+4 and PORT+5 for the impostors, PORT+6 and PORT+7 for Prometheus,
# PORT+20000 and PORT+20001 for Erlang distribution. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

base_port=${SERVER_SCRIPTS_TEST_PORT:-15800}
amqp_port=$base_port
external_amqp_port=$((base_port + 1))
pg_port=$((base_port + 2))
external_pg_port=$((base_port + 3))
answering_impostor_port=$((base_port + 4))
silent_impostor_port=$((base_port + 5))
prometheus_port=$((base_port + 6))
external_prometheus_port=$((base_port + 7))
short_host=$(hostname -s)
external_node=miner-index-test-external-$external_amqp_port@$short_host

# Nothing from the caller's environment may point the scripts at another server.
unset AMQP_URL RABBITMQ_NODENAME MINER_INDEX_TEST_POSTGRES_URL
for variable in $(compgen -e | grep -E '^(MINER_INDEX_BROKER_|MINER_INDEX_POSTGRES_|MINER_INDEX_PROMETHEUS_|RABBITMQ_)'); do
  unset "$variable"
done

scratch=$(mktemp -d /tmp/server-scripts-test.XXXXXX)
chmod 755 "$scratch"
passed=0 failed=0
background_pids=()

check() { # check DESCRIPTION COMMAND...: passes when the command succeeds
  local description=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "  ok      $description"
  else
    failed=$((failed + 1))
    echo "  FAILED  $description"
    [[ -s "$scratch/out" ]] && sed 's/^/          | /' "$scratch/out"
  fi
}

# run NAME COMMAND...: runs a script command with a 60 s guard (a start that waits for a port that will never serve
# it would otherwise hang the suite), keeping its status in $status and its output in $scratch/out.
run() {
  status=0
  timeout 60 "$@" >"$scratch/out" 2>&1 || status=$?
  sed 's/^/    > /' "$scratch/out"
}
status_is() { [[ "$status" == "$1" ]]; }
said() { grep -qiE -- "$1" "$scratch/out"; }
listens() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" 2>/dev/null; }
not() { ! "$@"; }
erlang_node_registered() { epmd -names 2>/dev/null | grep -q "^name ${1%@*} at port"; }
pid_alive() { [[ -s "$1" ]] && kill -0 "$(<"$1")" 2>/dev/null; }

for port in "$amqp_port" "$external_amqp_port" "$pg_port" "$external_pg_port" "$answering_impostor_port" \
  "$silent_impostor_port" "$prometheus_port" "$external_prometheus_port" $((amqp_port + 20000)) \
  $((external_amqp_port + 20000)); do
  if listens "$port"; then
    echo "server-scripts: port $port is taken; set SERVER_SCRIPTS_TEST_PORT to the first of 8 free ports" >&2
    exit 1
  fi
done

cleanup() {
  AMQP_URL=amqp://guest:guest@127.0.0.1:$amqp_port/ MINER_INDEX_BROKER_BASE=$scratch/broker bash scripts/broker.sh stop >/dev/null 2>&1
  MINER_INDEX_TEST_POSTGRES_URL=postgres://miner_index:miner_index@127.0.0.1:$pg_port/miner_index \
    MINER_INDEX_POSTGRES_DATA=$scratch/postgres bash scripts/postgres.sh stop >/dev/null 2>&1
  pid_alive "$scratch/external-rabbitmq/pid" && kill "$(<"$scratch/external-rabbitmq/pid")"
  [[ -s "$scratch/external-postgres/postmaster.pid" ]] &&
    runuser -u postgres -- /usr/lib/postgresql/*/bin/pg_ctl stop -D "$scratch/external-postgres" -m immediate >/dev/null 2>&1
  MINER_INDEX_PROMETHEUS_URL=http://127.0.0.1:$prometheus_port MINER_INDEX_PROMETHEUS_DATA=$scratch/prometheus \
    bash scripts/prometheus.sh stop >/dev/null 2>&1
  for pid in "${background_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for _ in $(seq 1 30); do pid_alive "$scratch/external-rabbitmq/pid" || break; sleep 1; done
  rm -rf "$scratch"
}
trap cleanup EXIT

# Impostors: one answers every connection with an HTTP error, the other accepts and says nothing (as `nc -l` would).
python3 - "$answering_impostor_port" "$silent_impostor_port" <<'PY' &
import socket, sys, threading, time
def serve(port, answer):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(port)))
    server.listen()
    held = []
    while True:
        connection, _ = server.accept()
        if answer:
            connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            time.sleep(0.2)
            connection.close()
        else:
            held.append(connection)
threading.Thread(target=serve, args=(sys.argv[1], True), daemon=True).start()
serve(sys.argv[2], False)
PY
background_pids+=($!)

# ---------------- scripts/broker.sh ----------------
broker() { AMQP_URL=amqp://guest:guest@127.0.0.1:$port/ MINER_INDEX_BROKER_BASE=$scratch/broker run bash scripts/broker.sh "$@"; }
own_node=miner-index-$amqp_port@$short_host

echo "broker.sh, nothing at 127.0.0.1:$amqp_port"
port=$amqp_port
broker status
check "status exits 3 (not running)" status_is 3
broker start
check "start starts a node" status_is 0
check "start says it starts one" said "starting RabbitMQ node $own_node"
check "the node serves AMQP on the URL's port" listens "$amqp_port"
check "the node is named after the port" erlang_node_registered "$own_node"
check "the node keeps its pid file in its base directory" pid_alive "$scratch/broker/pid"
own_pid=$(cat "$scratch/broker/pid" 2>/dev/null)
broker status
check "status exits 0" status_is 0
check "status says this script started it" said "started by this script"
broker start
check "start again exits 0" status_is 0
check "start again reuses the node" said "already running \(pid $own_pid"
check "start again starts no second node" [ "$(cat "$scratch/broker/pid" 2>/dev/null)" == "$own_pid" ]
broker node
check "node prints the node's name" said "^$own_node\$"
broker stop
check "stop exits 0" status_is 0
check "stop stops the node" said "stopped"
check "the port is free again" not listens "$amqp_port"
check "the pid file is gone" not pid_alive "$scratch/broker/pid"
broker status
check "status exits 3 after stop" status_is 3

echo "broker.sh, a RabbitMQ started outside the script at 127.0.0.1:$external_amqp_port"
mkdir -p "$scratch/external-rabbitmq"
echo '[].' >"$scratch/external-rabbitmq/enabled_plugins"
chown -R rabbitmq:rabbitmq "$scratch/external-rabbitmq"
RABBITMQ_NODENAME=$external_node RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$external_amqp_port \
  RABBITMQ_DIST_PORT=$((external_amqp_port + 20000)) RABBITMQ_PID_FILE=$scratch/external-rabbitmq/pid \
  RABBITMQ_MNESIA_BASE=$scratch/external-rabbitmq/mnesia RABBITMQ_LOG_BASE=$scratch/external-rabbitmq/log \
  RABBITMQ_ENABLED_PLUGINS_FILE=$scratch/external-rabbitmq/enabled_plugins rabbitmq-server -detached
timeout 120 rabbitmqctl -n "$external_node" wait --timeout 120 "$scratch/external-rabbitmq/pid" >/dev/null 2>&1
for _ in $(seq 1 60); do listens "$external_amqp_port" && break; sleep 1; done
check "(setup) the external node serves AMQP" listens "$external_amqp_port"
external_pid=$(cat "$scratch/external-rabbitmq/pid" 2>/dev/null)
port=$external_amqp_port
script_node=miner-index-$external_amqp_port@$short_host
broker start
check "start exits 0" status_is 0
check "start says it uses the broker that answers" said "using RabbitMQ [0-9.]+ that already answers at amqp://guest:\*\*\*@127.0.0.1:$external_amqp_port/"
check "start says it did not start it" said "not started by this script"
check "start starts no node of its own" not erlang_node_registered "$script_node"
check "start writes no pid file" not pid_alive "$scratch/broker/pid"
broker status
check "status exits 0" status_is 0
check "status says the script did not start it" said "not started by this script"
RABBITMQ_NODENAME=$external_node broker node
check "node, with RABBITMQ_NODENAME, confirms the node that serves the port" said "^$external_node\$"
broker node
check "node, with a node name that serves nothing, fails" not status_is 0
check "node says to set RABBITMQ_NODENAME" said "set RABBITMQ_NODENAME"
broker stop
check "stop exits 0" status_is 0
check "stop says it leaves the broker running" said "leaving the broker at 127.0.0.1:$external_amqp_port running"
check "the external node still runs" pid_alive "$scratch/external-rabbitmq/pid"
check "the external node still serves AMQP" listens "$external_amqp_port"
check "(the external node is the same process)" [ "$(cat "$scratch/external-rabbitmq/pid" 2>/dev/null)" == "$external_pid" ]
AMQP_URL=amqp://guest:wrong@127.0.0.1:$external_amqp_port/ MINER_INDEX_BROKER_BASE=$scratch/broker run bash scripts/broker.sh start
check "start with a wrong password fails" status_is 1
check "start with a wrong password says the broker refused it" said "refused .*ACCESS_REFUSED"

for port in "$answering_impostor_port" "$silent_impostor_port"; do
  echo "broker.sh, 127.0.0.1:$port taken by something that is not a broker"
  broker start
  check "start fails" status_is 1
  check "start says the port is taken by something that is not a broker" said "127.0.0.1:$port is taken by something that is not an AMQP 0-9-1 broker"
  check "start says how to point the commands elsewhere" said "set AMQP_URL"
  check "start starts no node" not erlang_node_registered "miner-index-$port@$short_host"
  broker status
  check "status fails with 1, not 0 or 3" status_is 1
  broker stop
  check "stop exits 0" status_is 0
  check "stop says it leaves the port's holder alone" said "held by something else, left alone"
  check "the impostor still listens" listens "$port"
done

# ---------------- scripts/postgres.sh ----------------
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
postgres() {
  MINER_INDEX_TEST_POSTGRES_URL=postgres://${pg_credentials:-miner_index:miner_index}@127.0.0.1:$port/${pg_database:-miner_index} \
    MINER_INDEX_POSTGRES_DATA=$scratch/postgres run bash scripts/postgres.sh "$@"
}
query() { # query PORT SQL, as the URL's user
  PGCONNECT_TIMEOUT=5 "$pg_bin/psql" "postgres://miner_index:miner_index@127.0.0.1:$1/miner_index" -XAtq -c "$2" >"$scratch/out" 2>&1
}

echo "postgres.sh, nothing at 127.0.0.1:$pg_port"
port=$pg_port
postgres status
check "status exits 3 (not running)" status_is 3
postgres start
check "start starts a cluster" status_is 0
check "start creates the cluster in its data directory" said "creating a PostgreSQL [0-9]+ cluster in $scratch/postgres"
check "start says it started it" said "running \(pid [0-9]+, started by this script\)"
check "the cluster runs as the postgres user" [ "$(stat -c %U "$scratch/postgres/PG_VERSION" 2>/dev/null)" == postgres ]
check "the URL's role logs into the URL's database" query "$pg_port" "SELECT current_user = 'miner_index' AND current_database() = 'miner_index'"
check "(and the answer is true)" said "^t$"
check "the cluster listens on 127.0.0.1 only" query "$pg_port" "SHOW listen_addresses"
check "(and the answer is 127.0.0.1)" said "^127.0.0.1$"
own_pg_pid=$(head -n 1 "$scratch/postgres/postmaster.pid" 2>/dev/null)
postgres status
check "status exits 0" status_is 0
check "status says this script started it" said "started by this script"
postgres start
check "start again exits 0" status_is 0
check "start again reuses the cluster" said "already running \(pid $own_pg_pid, started by this script\)"
pg_credentials=scratch_user:scratch_password pg_database=scratch_db postgres start
check "start with another role and database creates them in its own cluster" status_is 0
pg_credentials=miner_index:wrong postgres status
check "status with a wrong password fails with 1" status_is 1
check "status with a wrong password says why" said "password authentication failed"
postgres stop
check "stop exits 0" status_is 0
check "stop stops the cluster" said "stopped"
check "the port is free again" not listens "$pg_port"
postgres status
check "status exits 3 after stop" status_is 3
postgres start
check "start after stop starts the same cluster again" said "starting PostgreSQL"
check "(without creating it anew)" not said "creating a PostgreSQL"
check "the role and database survived the restart" query "$pg_port" "SELECT 1"
postgres stop

echo "postgres.sh, a PostgreSQL started outside the script at 127.0.0.1:$external_pg_port"
install -d -o postgres -g postgres -m 700 "$scratch/external-postgres"
runuser -u postgres -- "$pg_bin/initdb" -D "$scratch/external-postgres" -U postgres --auth=trust >/dev/null 2>&1
runuser -u postgres -- "$pg_bin/pg_ctl" start -D "$scratch/external-postgres" -l "$scratch/external-postgres/log" -w \
  -o "-h 127.0.0.1 -p $external_pg_port -k $scratch/external-postgres" >/dev/null 2>&1
runuser -u postgres -- "$pg_bin/psql" -XAtq -h "$scratch/external-postgres" -p "$external_pg_port" -d postgres \
  -c "CREATE ROLE miner_index LOGIN PASSWORD 'miner_index'" -c "CREATE DATABASE miner_index OWNER miner_index" >/dev/null 2>&1
check "(setup) the external server answers" query "$external_pg_port" "SELECT 1"
external_pg_pid=$(head -n 1 "$scratch/external-postgres/postmaster.pid" 2>/dev/null)
port=$external_pg_port
postgres start
check "start exits 0" status_is 0
check "start says it uses the server that answers" said "using PostgreSQL [0-9.]+.* that already answers at postgres://miner_index:\*\*\*@127.0.0.1:$external_pg_port/miner_index"
check "start says it did not start it" said "not started by this script"
check "start creates no cluster of its own" not said "creating|starting PostgreSQL"
postgres status
check "status exits 0" status_is 0
check "status says the script did not start it" said "not started by this script"
pg_database=no_such_database postgres start
check "start with a database the external server lacks fails" status_is 1
check "start says it changes nothing in a server it did not start" said "changes nothing in it"
check "(and creates no such database)" query "$external_pg_port" "SELECT count(*) FROM pg_database WHERE datname = 'no_such_database'"
check "(none: the count is 0)" said "^0$"
postgres stop
check "stop exits 0" status_is 0
check "stop says it leaves the server running" said "leaving the server at 127.0.0.1:$external_pg_port running"
check "the external server still answers" query "$external_pg_port" "SELECT 1"
check "(the external server is the same process)" [ "$(head -n 1 "$scratch/external-postgres/postmaster.pid" 2>/dev/null)" == "$external_pg_pid" ]

for port in "$answering_impostor_port" "$silent_impostor_port" "$external_amqp_port"; do
  echo "postgres.sh, 127.0.0.1:$port taken by something that is not PostgreSQL"
  postgres start
  check "start fails" status_is 1
  check "start says the port is taken by something that is not PostgreSQL" said "127.0.0.1:$port is taken by something that is not PostgreSQL"
  check "start says how to point the commands elsewhere" said "set MINER_INDEX_TEST_POSTGRES_URL"
  check "start starts no cluster" not said "starting PostgreSQL"
  postgres status
  check "status fails with 1, not 0 or 3" status_is 1
  postgres stop
  check "stop exits 0" status_is 0
  check "stop says it leaves the port's holder alone" said "held by something else, left alone"
  check "the port's holder still listens" listens "$port"
done

echo "broker.sh, 127.0.0.1:$external_pg_port taken by PostgreSQL"
port=$external_pg_port
broker start
check "start fails" status_is 1
check "start says the port is taken by something that is not a broker" said "is taken by something that is not an AMQP 0-9-1 broker"

# ---------------- scripts/prometheus.sh ----------------
prometheus() {
  MINER_INDEX_PROMETHEUS_URL=http://127.0.0.1:$port MINER_INDEX_PROMETHEUS_DATA=$scratch/prometheus \
    run bash scripts/prometheus.sh "$@"
}

echo "prometheus.sh, nothing at 127.0.0.1:$prometheus_port"
port=$prometheus_port
prometheus status
check "status exits 3 (not running)" status_is 3
prometheus start
check "start starts a server" status_is 0
check "start says it started one" said "prometheus: started \(pid [0-9]+"
check "the server answers on the URL's port" listens "$prometheus_port"
check "the server runs as the prometheus user" [ "$(ps -o user= -p "$(cat "$scratch/prometheus/prometheus.pid" 2>/dev/null)" 2>/dev/null)" == prometheus ]
check "the server evaluates rules.yml" curl -fsS "http://127.0.0.1:$prometheus_port/api/v1/rules" -o "$scratch/out"
check "(MinerIndexDown is among them)" said "MinerIndexDown"
own_prometheus_pid=$(cat "$scratch/prometheus/prometheus.pid" 2>/dev/null)
prometheus start
check "start again exits 0" status_is 0
check "start again reuses the server" said "running \(pid $own_prometheus_pid"
prometheus targets
check "targets prints the directory the server discovers targets in" said "^$scratch/prometheus/targets\$"
prometheus stop
check "stop stops the server" said "stopped \(pid $own_prometheus_pid\)"
check "the port is free again" not listens "$prometheus_port"
prometheus status
check "status exits 3 after stop" status_is 3

echo "prometheus.sh, a Prometheus started outside the script at 127.0.0.1:$external_prometheus_port"
install -d -o prometheus -g prometheus "$scratch/external-prometheus"
printf 'global:\n  scrape_interval: 15s\n' >"$scratch/external-prometheus/prometheus.yml"
setsid setpriv --reuid prometheus --regid prometheus --init-groups prometheus \
  --config.file="$scratch/external-prometheus/prometheus.yml" --storage.tsdb.path="$scratch/external-prometheus/tsdb" \
  --web.listen-address="127.0.0.1:$external_prometheus_port" >"$scratch/external-prometheus/log" 2>&1 </dev/null &
external_prometheus_pid=$!
background_pids+=("$external_prometheus_pid")
for _ in $(seq 1 60); do curl -fsS "http://127.0.0.1:$external_prometheus_port/-/ready" >/dev/null 2>&1 && break; sleep 0.5; done
port=$external_prometheus_port
prometheus start
check "start exits 0" status_is 0
check "start says it uses the server that answers, not started by this script" said "using Prometheus [0-9.]+.* \(not started by this script"
prometheus stop
check "stop exits 0" status_is 0
check "stop leaves the server running" kill -0 "$external_prometheus_pid"
check "(and it still answers)" curl -fsS "http://127.0.0.1:$external_prometheus_port/-/ready" -o /dev/null

for port in "$answering_impostor_port" "$silent_impostor_port"; do
  echo "prometheus.sh, 127.0.0.1:$port taken by something that is not Prometheus"
  prometheus start
  check "start fails" status_is 1
  check "start says so and how to point the commands elsewhere" said "is not Prometheus answers at .*set MINER_INDEX_PROMETHEUS_URL"
  prometheus status
  check "status fails with 1, not 0 or 3" status_is 1
  prometheus stop
  check "stop leaves the port's holder alone" listens "$port"
done

echo "server-scripts: $passed passed, $failed failed"
((failed == 0))
