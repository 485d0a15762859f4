#!/usr/bin/env bash
# Fuzz smoke test (issue 3 §3), registered in CTest as `fuzz_smoke`: builds every libFuzzer target
# (libs/*/fuzz/<target>.cpp) with clang in its own build dir, then runs each one briefly from its
# committed seed corpus (tests/fuzz/corpus/<target>/). Any crash, sanitizer report (ASan, UBSan,
# leaks), per-input timeout or OOM fails the run; the input that triggered it is kept.
#
# Environment:
#   ATCR_FUZZ_BUILD_DIR  build dir (default <repo>/build-fuzz; kept between runs, ccache-backed)
#   ATCR_FUZZ_SECONDS    fuzzing time per target (default 15)
#   ATCR_FUZZ_JOBS       build parallelism (default 2)
#   ATCR_FUZZ_TARGETS    space-separated subset of targets to run (default: all that exist)
# Exit 0 iff every target built and ran clean. Crash inputs: $BUILD/fuzz-work/<target>/crash-*.
set -euo pipefail
shopt -s nullglob

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${ATCR_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
SECS=${ATCR_FUZZ_SECONDS:-15}
JOBS=${ATCR_FUZZ_JOBS:-2}
CORPUS=$ROOT/tests/fuzz/corpus
WORK=$BUILD/fuzz-work

log() { printf '[fuzz %s] %s\n' "$(date +%T)" "$*"; }
die() { printf '[fuzz] FAIL: %s\n' "$*" >&2; exit 1; }

for tool in clang clang++ cmake ninja; do
  command -v $tool >/dev/null || die "$tool not installed (run scripts/bootstrap)"
done

# Targets the sources declare: libs/<module>/fuzz/<target>.cpp.
declared=()
for src in "$ROOT"/libs/*/fuzz/*.cpp; do declared+=("$(basename "$src" .cpp)"); done
[ ${#declared[@]} -gt 0 ] || die "no fuzz targets under libs/*/fuzz/"
if [ -n "${ATCR_FUZZ_TARGETS:-}" ]; then declared=($ATCR_FUZZ_TARGETS); fi

t0=$SECONDS
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
log "configuring $BUILD (clang, ATCR_FUZZ=ON)"
mkdir -p "$BUILD"
if ! cmake -S "$ROOT" -B "$BUILD" -G Ninja \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DATCR_FUZZ=ON -DATCR_BUILD_TESTS=OFF -DATCR_BUILD_BENCH=OFF "${launcher[@]}" \
    >"$BUILD/fuzz-configure.log" 2>&1; then
  tail -n 40 "$BUILD/fuzz-configure.log" >&2
  die "configure with ATCR_FUZZ=ON failed (full log: $BUILD/fuzz-configure.log)"
fi

# Only targets the configured project actually defines (a module may declare a fuzz source
# before wiring it into its CMakeLists.txt).
known=$(ninja -C "$BUILD" -t targets all | sed -n 's/^\([A-Za-z0-9_]*\): phony$/\1/p')
targets=()
for t in "${declared[@]}"; do
  if grep -qx "$t" <<<"$known"; then
    targets+=("$t")
  else
    log "skip $t: a fuzz source exists but the build defines no such target"
  fi
done
[ ${#targets[@]} -gt 0 ] || die "the build defines none of the fuzz targets: ${declared[*]}"

failed=()
built=()
for t in "${targets[@]}"; do
  log "building $t (-j$JOBS)"
  if cmake --build "$BUILD" -j "$JOBS" --target "$t" >"$BUILD/build-$t.log" 2>&1; then
    built+=("$t")
  else
    tail -n 40 "$BUILD/build-$t.log" >&2
    failed+=("$t (build failed, log: $BUILD/build-$t.log)")
  fi
done
log "build done in $((SECONDS - t0)) s"

# UB must stop the run even in targets built without -fno-sanitize-recover.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}

rm -rf "$WORK"
for t in "${built[@]}"; do
  bin=$BUILD/bin/$t
  [ -x "$bin" ] || { failed+=("$t (no binary at $bin)"); continue; }
  mkdir -p "$WORK/$t/new"
  seeds=()
  if [ -d "$CORPUS/$t" ]; then seeds=("$CORPUS/$t"); else log "$t: no seed corpus, starting empty"; fi
  log "running $t for ${SECS}s"
  # New inputs go to the first (scratch) dir; the committed seeds are only read.
  rc=0
  timeout --kill-after=10 $((SECS + 120)) "$bin" \
    -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$WORK/$t/" "$WORK/$t/new" "${seeds[@]}" >"$WORK/$t/log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$t/log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$WORK/$t/log" | tail -n 1 || true)
  if [ $rc -ne 0 ]; then
    tail -n 60 "$WORK/$t/log" >&2
    artifacts=("$WORK/$t"/crash-* "$WORK/$t"/leak-* "$WORK/$t"/timeout-* "$WORK/$t"/oom-*)
    failed+=("$t (exit $rc; ${artifacts[*]:-no artifact}; log: $WORK/$t/log)")
  else
    log "$t ok: ${execs:-?} execs, ${cov:-cov: ?}"
  fi
done

log "total $((SECONDS - t0)) s"
if [ ${#failed[@]} -gt 0 ]; then
  for f in "${failed[@]}"; do printf '[fuzz] FAIL: %s\n' "$f" >&2; done
  exit 1
fi
log "all ${#built[@]} fuzz targets clean: ${built[*]}"
