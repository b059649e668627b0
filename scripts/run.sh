#!/usr/bin/env bash
# Builds idbroker and runs it. With no arguments it starts on its embedded
# default: SQLite under ./data/, listening on 127.0.0.1:8080. Arguments are
# passed to `idbroker serve` (for example --config config/idbroker.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked
exec target/release/idbroker serve "$@"
