#!/usr/bin/env bash
# Starts, stops or reports the PostgreSQL server the tests use, without systemd: `scripts/postgres.sh start|stop|status`.
# Idempotent; run as root.
#
# - start: if PostgreSQL already answers at the URL and lets its role into its database, uses it and says so;
#   otherwise starts a cluster of this script's own (its own data directory, listening on the URL's loopback
#   address and port only, run as the `postgres` user) and creates the URL's role and database in it. Fails at
#   once when the port is taken by something that is not PostgreSQL.
# - stop: stops only the cluster in this script's data directory; a server started otherwise keeps running.
# - status: exit 0 when the URL's database answers, 3 when nothing listens at its address, 1 otherwise.
#
# Environment (defaults in brackets):
#   MINER_INDEX_TEST_POSTGRES_URL       [postgres://miner_index:miner_index@127.0.0.1:5432/miner_index] the database
#                                       to use or create; the tests read the same variable
#   MINER_INDEX_POSTGRES_DATA           [/var/lib/miner-index-postgres] the cluster's data directory
#   MINER_INDEX_POSTGRES_BIN            [the newest /usr/lib/postgresql/*/bin] initdb, pg_ctl, pg_isready, psql
#   MINER_INDEX_POSTGRES_OPTIONS        [] extra server options for a started cluster, e.g. "-c fsync=off"
#   MINER_INDEX_POSTGRES_START_TIMEOUT  [60] seconds to wait for a started cluster
set -euo pipefail

url=${MINER_INDEX_TEST_POSTGRES_URL:-postgres://miner_index:miner_index@127.0.0.1:5432/miner_index}
data=$(realpath -m "${MINER_INDEX_POSTGRES_DATA:-/var/lib/miner-index-postgres}")
extra_options=${MINER_INDEX_POSTGRES_OPTIONS:-}
start_timeout=${MINER_INDEX_POSTGRES_START_TIMEOUT:-60}
probe_timeout=5

fail() { echo "postgres: $*" >&2; exit 1; }

percent_decode() { local escaped=${1//\\/\\\\}; printf '%b' "${escaped//%/\\x}"; }

url_pattern='^(postgres|postgresql)://(([^:@/]*)(:([^@/]*))?@)?(\[[^]/]+\]|[^:/?]*)(:([0-9]+))?(/([^?]*))?(\?.*)?$'
[[ "$url" =~ $url_pattern ]] || fail "MINER_INDEX_TEST_POSTGRES_URL is not a postgres:// URL: ${url%%@*}…"
user=$(percent_decode "${BASH_REMATCH[3]:-}")
password=$(percent_decode "${BASH_REMATCH[5]:-}")
host=${BASH_REMATCH[6]:-127.0.0.1}
host=${host#[}; host=${host%]}
port=${BASH_REMATCH[8]:-5432}
database=$(percent_decode "${BASH_REMATCH[10]:-}")
[[ -n "$user" && -n "$database" ]] || fail "MINER_INDEX_TEST_POSTGRES_URL must name a user and a database (postgres://USER:PASSWORD@HOST:PORT/DATABASE)"
shown_url="postgres://$user:***@$host:$port/$database"

if [[ -n "${MINER_INDEX_POSTGRES_BIN:-}" ]]; then
  bin=$MINER_INDEX_POSTGRES_BIN
else
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi

need_binaries() {
  [[ -n "$bin" && -x "$bin/pg_ctl" ]] ||
    fail "PostgreSQL's server binaries are not installed (looked in ${bin:-/usr/lib/postgresql/*/bin}); run scripts/install-deps.sh or set MINER_INDEX_POSTGRES_BIN"
}

is_loopback() { [[ "$host" == localhost || "$host" == 127.* || "$host" == ::1 ]]; }

as_postgres() { (cd / && runuser -u postgres -- "$@"); }

# Prints one line: "ok VERSION", "none", "not-postgres WHAT HAPPENED" or "refused PSQL'S ERROR".
postgres_probe() {
  if ! timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null; then
    echo none
    return
  fi
  local ready=0 answer
  PGCONNECT_TIMEOUT=$probe_timeout "$bin/pg_isready" -q -h "$host" -p "$port" -t "$probe_timeout" || ready=$?
  case "$ready" in
    0) ;;
    1) echo "refused the server is starting up or shutting down"; return ;;
    2) echo "not-postgres it accepted a connection but gave no PostgreSQL answer to a startup message (pg_isready waited ${probe_timeout}s)"; return ;;
    *) echo "refused pg_isready could not check it (exit $ready)"; return ;;
  esac
  if answer=$(PGCONNECT_TIMEOUT=$probe_timeout "$bin/psql" "$url" -XAtq -c 'SHOW server_version' 2>&1); then
    echo "ok PostgreSQL $answer"
  else
    echo "refused $(tr '\n' ' ' <<<"$answer")"
  fi
}

how_to_point_elsewhere() {
  echo "postgres: to use another server, or to have this script start one on a free port, set MINER_INDEX_TEST_POSTGRES_URL," \
    "e.g. MINER_INDEX_TEST_POSTGRES_URL=postgres://miner_index:miner_index@127.0.0.1:5433/miner_index bash scripts/postgres.sh start" >&2
}

require_usable() {
  local answer=$1
  case "$answer" in
    ok\ *) return 0 ;;
    not-postgres\ *)
      echo "postgres: $host:$port is taken by something that is not PostgreSQL: ${answer#* }" >&2
      how_to_point_elsewhere
      exit 1 ;;
    refused\ *)
      echo "postgres: PostgreSQL answers at $host:$port but $shown_url is not usable: ${answer#* }" >&2
      if ! own_cluster_runs; then
        echo "postgres: this script did not start that server, so it changes nothing in it: create the role and database" \
          "(CREATE ROLE \"$user\" LOGIN PASSWORD '…' CREATEDB; CREATE DATABASE \"$database\" OWNER \"$user\";) or point" \
          "MINER_INDEX_TEST_POSTGRES_URL at another server" >&2
      fi
      exit 1 ;;
    *) fail "the check of $host:$port gave no answer ('$answer')" ;;
  esac
}

# ---- the cluster in this script's data directory ----

own_cluster_runs() { [[ -n "$bin" && -s "$data/postmaster.pid" ]] && as_postgres "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; }
own_pid() { head -n 1 "$data/postmaster.pid"; }
own_port() { sed -n 4p "$data/postmaster.pid"; }

init_cluster() {
  local version
  version=$("$bin/pg_ctl" --version | grep -o '[0-9]*' | head -n 1)
  if [[ -s "$data/PG_VERSION" ]]; then
    [[ "$(<"$data/PG_VERSION")" == "$version" ]] ||
      fail "$data holds a PostgreSQL $(<"$data/PG_VERSION") cluster but the binaries in $bin are version $version; set MINER_INDEX_POSTGRES_DATA or MINER_INDEX_POSTGRES_BIN"
    return 0
  fi
  [[ ! -e "$data" || -z "$(ls -A "$data")" ]] || fail "$data exists, is not empty and holds no cluster; set MINER_INDEX_POSTGRES_DATA to another directory"
  echo "postgres: creating a PostgreSQL $version cluster in $data"
  install -d -o postgres -g postgres -m 700 "$data"
  # Host connections need a password (the URL's); only the postgres OS user gets in through the socket, to set up.
  as_postgres "$bin/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C >/dev/null
}

create_role_and_database() {
  as_postgres "$bin/psql" -X -q -h "$data" -p "$port" -d postgres -v ON_ERROR_STOP=1 \
    -v user="$user" -v password="$password" -v database="$database" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
-- CREATEDB lets tests make scratch databases of their own.
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'user', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SQL
}

start_cluster() {
  is_loopback || fail "nothing answers at $host:$port, and this script starts PostgreSQL on this machine's loopback only; point MINER_INDEX_TEST_POSTGRES_URL at a running server, or at 127.0.0.1"
  if own_cluster_runs; then
    fail "the cluster in $data runs (pid $(own_pid)) on port $(own_port), not at $host:$port; stop it with this script under its old URL, or set MINER_INDEX_POSTGRES_DATA"
  fi
  [[ -n "$password" ]] || fail "MINER_INDEX_TEST_POSTGRES_URL has no password; the cluster this script starts requires one on TCP"
  id postgres >/dev/null 2>&1 || fail "there is no postgres user; run scripts/install-deps.sh"
  [[ "$data" != *[[:space:]]* ]] || fail "MINER_INDEX_POSTGRES_DATA must not contain spaces (it is also the socket directory)"
  init_cluster
  local listen=$host
  [[ "$listen" == localhost ]] && listen=127.0.0.1
  echo "postgres: starting PostgreSQL on $listen:$port (data in $data)"
  # The socket lives in the data directory: /var/run/postgresql may not exist on a machine without systemd.
  if ! as_postgres "$bin/pg_ctl" start -D "$data" -l "$data/server.log" -w -t "$start_timeout" \
    -o "-h $listen -p $port -k $data $extra_options" >/dev/null; then
    echo "postgres: PostgreSQL did not start within ${start_timeout}s; the end of $data/server.log:" >&2
    tail -n 20 "$data/server.log" >&2 || true
    exit 1
  fi
  create_role_and_database
  local answer
  answer=$(postgres_probe)
  require_usable "$answer"
  echo "postgres: running (pid $(own_pid), started by this script): ${answer#ok } at $shown_url"
}

start() {
  need_binaries
  local answer
  answer=$(postgres_probe)
  # A server still starting up (perhaps by another caller of this script) gets a few seconds.
  for _ in $(seq 1 10); do
    [[ "$answer" == "refused the server is starting up or shutting down" ]] || break
    sleep 1
    answer=$(postgres_probe)
  done
  if [[ "$answer" == none ]]; then
    start_cluster
    return
  fi
  if [[ "$answer" == refused\ * ]] && own_cluster_runs && [[ "$(own_port)" == "$port" ]]; then
    create_role_and_database # our own cluster, started under another URL: give it this URL's role and database
    answer=$(postgres_probe)
  fi
  require_usable "$answer"
  if own_cluster_runs; then
    echo "postgres: already running (pid $(own_pid), started by this script): ${answer#ok } at $shown_url"
  else
    echo "postgres: using ${answer#ok } that already answers at $shown_url (not started by this script, so 'stop' leaves it running)"
  fi
}

stop() {
  need_binaries
  if ! own_cluster_runs; then
    local answer
    answer=$(postgres_probe)
    case "$answer" in
      none) echo "postgres: not running" ;;
      not-postgres\ *) echo "postgres: nothing this script started runs; $host:$port is held by something else, left alone (${answer#* })" ;;
      *) echo "postgres: leaving the server at $host:$port running: this script did not start it" ;;
    esac
    return 0
  fi
  echo "postgres: stopping the cluster in $data (pid $(own_pid))"
  as_postgres "$bin/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null
  echo "postgres: stopped"
}

# Restarts only a cluster this script started (the standby tests restart PostgreSQL under load): a fast shutdown
# that ends every session, then a start on the same data directory and port.
restart() {
  need_binaries
  own_cluster_runs || fail "restart: no cluster started by this script runs in $data; restart a server you run yourself with your own tools"
  echo "postgres: restarting the cluster in $data (pid $(own_pid))"
  as_postgres "$bin/pg_ctl" restart -D "$data" -l "$data/server.log" -m fast -w -t 60 >/dev/null
  echo "postgres: restarted (pid $(own_pid))"
}

status() {
  need_binaries
  local answer
  answer=$(postgres_probe)
  if [[ "$answer" == none ]]; then
    echo "postgres: not running (nothing listens at $host:$port)"
    return 3
  fi
  require_usable "$answer"
  if own_cluster_runs; then
    echo "postgres: running: ${answer#ok } at $shown_url (pid $(own_pid), data in $data, started by this script)"
  else
    echo "postgres: running: ${answer#ok } at $shown_url (not started by this script)"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  restart) restart ;;
  *) echo "usage: $0 start|stop|status|restart" >&2; exit 2 ;;
esac
