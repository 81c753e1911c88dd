#!/usr/bin/env bash
# Builds the fuzz targets if needed and runs one for SECONDS on its seed corpus
# (docs/fuzzing.md). Extra arguments go to libFuzzer (e.g. -jobs=2, -dict=FILE).
#
#   fuzz/run.sh TARGET SECONDS [libFuzzer flags...]
#
# Inputs the run finds interesting, and any crash (crash-*, timeout-*, oom-*), are written
# to a scratch folder, fuzz/.build/findings/TARGET (FUZZ_SCRATCH to change it); the
# committed corpus is only read. Both build and run are niced: they share the machine.
set -euo pipefail
usage="usage: fuzz/run.sh TARGET SECONDS [libFuzzer flags...]"
target=${1:?$usage}
seconds=${2:?$usage}
here=$(cd "$(dirname "$0")" && pwd)
[[ -d $here/corpus/$target ]] || { echo "no corpus at fuzz/corpus/$target" >&2; exit 2; }
cd "$here"
# Fails when the build does (pipefail; a build that succeeds prints "complete").
build() {
    nice -n 19 swift build -c debug -j 1 --scratch-path .build --product "fuzz-$target" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 | grep -E "error|Compiling|complete"
}
# SwiftPM does not notice a source file added to an existing target of this package's
# build plan: the build fails with "cannot find … in scope" and leaves the old binary in
# place. Once failed, the plan is read again; a second failure stops the run, which would
# otherwise fuzz the old code.
if ! build; then
    echo "fuzz/run.sh: the build failed; reading the targets again" >&2
    rm -f .build/debug.yaml .build/debug/description.json
    build || { echo "fuzz/run.sh: the build of fuzz-$target failed" >&2; exit 1; }
fi
binary=.build/debug/fuzz-$target
[[ -x $binary ]] || { echo "the build did not make $binary" >&2; exit 1; }
scratch=${FUZZ_SCRATCH:-$here/.build/findings/$target}
mkdir -p "$scratch"
log=$scratch.log
# Swift's own crash backtracer and ASan's handler fight over a crash and the process
# hangs; with it off, libFuzzer reports the crash and writes its input.
export SWIFT_BACKTRACE=enable=no
# Leaks outside obsgate that every run would otherwise stop at (lsan.supp says which).
export LSAN_OPTIONS=suppressions=$here/lsan.supp:print_suppressions=0
status=0
nice -n 19 "$binary" "$scratch" "corpus/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -artifact_prefix="$scratch/" -print_final_stats=1 "${@:3}" >"$log" 2>&1 || status=$?
# Progress (plain: "#N INITED/DONE cov: ..."; -fork: "#N: cov: ... crash: ...", the last one
# the totals), statistics, and what went wrong.
grep -E "^#[0-9]+ +(INITED|DONE)|^stat::|ERROR|Fatal error|^artifact_prefix|Test unit written" "$log" || true
grep -E "^#[0-9]+: cov:" "$log" | tail -1 || true
echo "fuzz/run.sh $target: exit $status after ${seconds}s; log $log, new inputs and crashes in $scratch"
exit "$status"
