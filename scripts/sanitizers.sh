#!/usr/bin/env bash
# The test suite under Clang's sanitizers: AddressSanitizer (use after free, overflows,
# leaks of the runtime's own checks) and ThreadSanitizer (data races between the event
# loops, the audit writer thread and the tests). Each builds apart from the development
# build, in .build-asan / .build-tsan (git-ignored), so neither invalidates the other.
#
#   scripts/sanitizers.sh                 # address, then thread
#   scripts/sanitizers.sh thread          # one of them
#   SANITIZER_SKIP='BrowserTests' scripts/sanitizers.sh address   # skip more suites (regex)
#
# The suites that drive external programs against radosgw run too (radosgw is started as
# scripts/test starts it), except the ones whose subject is another process: the
# `obsgate` binary started as a child (ServeProcess, Demo) is not the sanitized test
# process, and a headless browser adds minutes and no gateway code. What is skipped is
# printed. Exits non-zero on the first sanitizer that reports anything or fails a test.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address thread)
skip="ServeProcessTests|DemoProcessTests|BrowserTests${SANITIZER_SKIP:+|$SANITIZER_SKIP}"

bash scripts/install-test-deps.sh

export RGW_PORT="${RGW_PORT:-8000}"
bash scripts/peers.sh start-rgw
trap 'bash scripts/peers.sh stop-rgw >/dev/null 2>&1 || true' EXIT
export OBSGATE_RGW_ENDPOINT="http://127.0.0.1:${RGW_PORT}"

# Reports go to standard error and end the process with a non-zero status; TSan's
# "second_deadlock_stack" makes a lock-order report show both stacks.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

for sanitizer in "${sanitizers[@]}"; do
  flags=()
  case "$sanitizer" in
    address) scratch=.build-asan ;;
    # Built with -sanitize=thread, swift-otel 1.6 fails Swift 6's data-race checking
    # ("sending 'logger' risks causing data races", OTelBatchLogRecordProcessor) although
    # it compiles without the sanitizer: language mode 5 for this build only. The checks
    # are compile-time; what TSan watches at run time is the same code.
    thread) scratch=.build-tsan flags=(-Xswiftc -swift-version -Xswiftc 5) ;;
    *) echo "unknown sanitizer '$sanitizer' (address or thread)" >&2; exit 2 ;;
  esac
  echo "== $sanitizer: build ($scratch)"
  swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch" "${flags[@]}"
  echo "== $sanitizer: swift test (skipping: $skip)"
  swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" "${flags[@]}" --skip "$skip"
done
echo "== sanitizers passed: ${sanitizers[*]}"
