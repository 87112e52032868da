#!/usr/bin/env bash
# Runs every test: unit tests and the broker-backed integration and end-to-end tests. Needs a broker at AMQP_URL
# (default amqp://guest:guest@127.0.0.1:5672/); scripts/broker.sh start provides one. Tests run one at a time
# because some of them close every connection on the broker or restart it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

if ! bash scripts/broker.sh status >/dev/null 2>&1 && [[ -z "${AMQP_URL:-}" ]]; then
  bash scripts/install-deps.sh
  bash scripts/broker.sh start
fi

swift build --build-tests
swift test --skip-build --no-parallel
