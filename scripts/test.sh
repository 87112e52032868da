#!/usr/bin/env bash
# Runs every test: unit tests and the broker-backed integration and end-to-end tests, against the RabbitMQ at AMQP_URL
# (default amqp://guest:guest@127.0.0.1:5672/) and the PostgreSQL at MINER_INDEX_TEST_POSTGRES_URL (default
# postgres://miner_index:miner_index@127.0.0.1:5432/miner_index). scripts/broker.sh and scripts/postgres.sh use
# servers that already answer there, or start them on loopback. Tests run one at a time because some of them close
# every connection on the broker or restart it. Then the observability test (scripts/tests/observability.py): the
# alerting rules through promtool, and a real miner-index scraped by the Prometheus of scripts/prometheus.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

bash scripts/install-deps.sh
bash scripts/broker.sh start
# The tests stop, start and break the broker with rabbitmqctl: it must reach the node that serves AMQP_URL, no other.
RABBITMQ_NODENAME=$(bash scripts/broker.sh node)
export RABBITMQ_NODENAME
bash scripts/postgres.sh start
export MINER_INDEX_TEST_POSTGRES_URL=${MINER_INDEX_TEST_POSTGRES_URL:-postgres://miner_index:miner_index@127.0.0.1:5432/miner_index}

swift build --build-tests
swift test --skip-build --no-parallel
python3 scripts/tests/observability.py
