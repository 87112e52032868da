#!/usr/bin/env bash
# Installs what miner-index needs to build, test and run on Debian 12: rabbitmq-c, simdjson, a RabbitMQ
# server, and docker-compose for checking the compose file. Idempotent; run as root.
set -euo pipefail

# docker-compose only parses docker-compose.yml in the tests; no Docker engine runs here.
packages=(librabbitmq-dev libsimdjson-dev pkg-config rabbitmq-server docker-compose curl)

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
apt-get update -qq
# The package's maintainer scripts try to start the service through invoke-rc.d; there is no init system here,
# so scripts/broker.sh starts the broker instead.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
