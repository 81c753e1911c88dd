#!/usr/bin/env bash
# Policy evaluation time per request for a policy of 10 and of 10,000 rules, measured side
# by side in one run (the ratio is the result; absolute numbers on shared machines are
# noise). Release build: evaluation cost in a debug build says little.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product obsgate
.build/release/obsgate policy bench --rules 10 --rules 10000 --requests "${REQUESTS:-500000}"
