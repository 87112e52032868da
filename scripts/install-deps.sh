#!/usr/bin/env bash
# Installs what miner-index needs to build, test and run on Debian 12: rabbitmq-c, simdjson, SQLite, a RabbitMQ
# server, a PostgreSQL server, Prometheus (its promtool lints the metrics and tests the alerting rules; the server
# scrapes a real miner-index in the observability test), and docker-compose for checking the compose file.
# Idempotent; run as root.
set -euo pipefail

# docker-compose only parses docker-compose.yml in the tests; no Docker engine runs here.
# python3 runs bench/ and the stand-in servers of scripts/tests/server-scripts.sh.
packages=(librabbitmq-dev libsimdjson-dev libsqlite3-dev pkg-config rabbitmq-server postgresql prometheus docker-compose curl
  python3)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: everything is installed (${packages[*]})"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Debian's postgresql package creates a "main" cluster on port 5432 and may start it; scripts/postgres.sh runs a
# cluster of its own instead, so that port stays free for it (postgresql-common reads this drop-in directory).
if [[ " ${missing[*]} " == *" postgresql "* ]]; then
  install -d /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/miner-index.conf
fi
apt-get update -qq
# The package's maintainer scripts try to start the service through invoke-rc.d; there is no init system here,
# so scripts/broker.sh, scripts/postgres.sh and scripts/prometheus.sh start the servers instead.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
