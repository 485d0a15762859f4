#!/usr/bin/env bash
# ATProto core benchmarks (issue 3 §4): atcr (Google Benchmark, bench/atproto/atproto_bench.cpp)
# and the reference TypeScript libraries under node (bench/atproto/ref_bench.mjs) on the same
# inputs, in one run. Prints a markdown table (operation, atcr, reference, ratio; goal >= 10x)
# and writes it to bench/out/atproto.md; every run's raw output stays in bench/out/atproto-raw/,
# the per-round figures in bench/out/atproto-results.json. About 4-6 minutes on 2 shared cores.
#
# Environment:
#   BUILD_DIR                 CMake build dir holding the benchmark (default build; configured
#                             like `make build` if it has no build.ninja yet)
#   JOBS                      build parallelism (default 2)
#   ATPROTO_BENCH_MIN_TIME    seconds per measurement on both sides (default 1; the reference
#                             also warms up its JIT for as long first)
#   ATPROTO_BENCH_REPS        rounds, medians are reported (default 3)
#   ATPROTO_BENCH_ONLY        comma-separated subset, e.g. k256_sign,k256_verify
#   ATPROTO_BENCH_CLOCK       cpu (default) or wall: which time the table compares. CPU time
#                             keeps the ratios meaningful on a shared, loaded machine; the other
#                             clock's ratios are listed under the table.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
MIN_TIME=${ATPROTO_BENCH_MIN_TIME:-1}
REPS=${ATPROTO_BENCH_REPS:-3}
ONLY=${ATPROTO_BENCH_ONLY:-}
CLOCK=${ATPROTO_BENCH_CLOCK:-cpu}
OUT=$ROOT/bench/out
INPUTS=$OUT/atproto-inputs

log() { printf '[atproto-bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf '[atproto-bench] FAIL: %s\n' "$*" >&2; exit 1; }
for tool in cmake ninja node python3; do
  command -v $tool >/dev/null || die "$tool not installed (run scripts/bootstrap)"
done
case $CLOCK in cpu | wall) ;; *) die "ATPROTO_BENCH_CLOCK must be cpu or wall" ;; esac
mkdir -p "$OUT"

tests/peers/bootstrap-npm || die "tests/peers/bootstrap-npm failed"
[ -f "$BUILD/build.ninja" ] || cmake -S . -B "$BUILD" -G Ninja >&2
log "building atcr_atproto_bench in $BUILD (-j$JOBS)"
cmake --build "$BUILD" -j "$JOBS" --target atcr_atproto_bench >&2 ||
  die "build failed (is $BUILD configured with ATCR_BUILD_BENCH=ON?)"
BIN=$BUILD/bin/atcr_atproto_bench

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rm -rf "$INPUTS"
"$BIN" --write-inputs "$INPUTS" >&2

# The two sides take turns, one operation at a time, REPS rounds: on a shared machine the load
# drifts over minutes, and pairing each atcr run with a reference run right after it keeps that
# drift out of the ratios (each ratio is the median of the per-round ratios).
OPS=(cbor_encode_records cbor_decode_records cbor_encode_blobs cbor_decode_blobs mst_build_100k
     car_verify_10k k256_sign k256_verify)
[ -z "$ONLY" ] || IFS=, read -r -a OPS <<<"$ONLY"
RAW=$OUT/atproto-raw
rm -rf "$RAW"
mkdir -p "$RAW"
min_ms=$(awk -v t="$MIN_TIME" 'BEGIN { printf "%d", t * 1000 }')
log "atcr (Google Benchmark) and reference (node $(node --version)) in turns: ${REPS} rounds x ${#OPS[@]} operations, ${MIN_TIME}s each"
for ((round = 1; round <= REPS; round++)); do
  for op in "${OPS[@]}"; do
    "$BIN" --benchmark_filter="^${op}(/|\$)" --benchmark_min_time="$MIN_TIME" \
      --benchmark_format=json >"$RAW/atcr-$op-$round.json" 2>"$RAW/atcr-$op-$round.log" ||
      die "atcr_atproto_bench $op failed: $(tail -n 5 "$RAW/atcr-$op-$round.log")"
    grep -q '"run_name"' "$RAW/atcr-$op-$round.json" || die "atcr_atproto_bench has no benchmark $op"
    node bench/atproto/ref_bench.mjs "$INPUTS" --only "$op" --reps 1 --min-ms "$min_ms" \
      >"$RAW/ref-$op-$round.json" 2>"$RAW/ref-$op-$round.log" ||
      die "ref_bench.mjs $op failed: $(tail -n 5 "$RAW/ref-$op-$round.log")"
    log "round $round $op done"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt")
python3 - "$OUT" "$INPUTS/inputs.json" "$load_before" "$load_after" \
  "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" "${build_type:-RelWithDebInfo}" "$CLOCK" <<'PY'
import glob, json, os, statistics, sys
out, inputs_path, load_before, load_after, commit, build_type, clock = sys.argv[1:]
inputs = json.load(open(inputs_path))
raw = os.path.join(out, "atproto-raw")

# results[side][op] = list of {ns_per_op, cpu_ns_per_op, bytes_per_op}, one per round
to_ns = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
results = {"atcr": {}, "ref": {}}
lib = {}
for path in sorted(glob.glob(os.path.join(raw, "*.json"))):
    side = os.path.basename(path).split("-", 1)[0]
    doc = json.load(open(path))
    if side == "atcr":
        for b in doc["benchmarks"]:
            if b.get("error_occurred"):
                sys.exit(f"atcr benchmark {b['name']} failed: {b.get('error_message')}")
            unit = to_ns[b["time_unit"]]
            results["atcr"].setdefault(b["name"].removesuffix("/real_time"), []).append(
                {"ns_per_op": b["real_time"] * unit, "cpu_ns_per_op": b["cpu_time"] * unit,
                 "bytes_per_op": b.get("bytes_per_op")})
    else:
        lib = doc["library"]
        for name, r in doc["results"].items():
            results["ref"].setdefault(name, []).append(r)
json.dump(results, open(os.path.join(out, "atproto-results.json"), "w"), indent=2)

rows = [
    ("cbor_encode_records", f"DAG-CBOR encode, {inputs['records']} io.atcr.manifest/tag records "
                            f"({inputs['recordBytes'] / 1e6:.1f} MB)", "MB/s"),
    ("cbor_decode_records", "DAG-CBOR decode, same records", "MB/s"),
    ("cbor_encode_blobs", f"DAG-CBOR encode, {inputs['blobMaps']} blob-heavy maps "
                          f"({inputs['blobBytes'] / 1e6:.1f} MB)", "MB/s"),
    ("cbor_decode_blobs", "DAG-CBOR decode, same maps", "MB/s"),
    ("mst_build_100k", f"MST build, {inputs['mstKeys'] // 1000}k keys -> root CID", "ms"),
    ("car_verify_10k", f"CAR verify, {inputs['repoRecords'] // 1000}k-record repo "
                       f"({inputs['repoCarBytes'] / 1e6:.1f} MB)", "ms"),
    ("k256_sign", "K-256 sign", "ops/s"),
    ("k256_verify", "K-256 verify (did:key)", "ops/s"),
]

def figure(r, unit, field):
    ns = r[field]
    if unit == "MB/s":
        return r["bytes_per_op"] / ns * 1e3
    if unit == "ms":
        return ns / 1e6
    return 1e9 / ns

def median_figure(side, key, unit, field):
    runs = results[side].get(key)
    return statistics.median(figure(r, unit, field) for r in runs) if runs else None

def ratio(key, unit, field):
    pairs = list(zip(results["atcr"].get(key, []), results["ref"].get(key, [])))
    if not pairs:
        return None
    per_round = [figure(r, unit, field) / figure(a, unit, field) if unit == "ms"
                 else figure(a, unit, field) / figure(r, unit, field) for a, r in pairs]
    return statistics.median(per_round)

def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "ops/s" or v >= 100:
        return f"{v:,.0f} {unit}"
    return f"{v:.1f} {unit}" if v >= 10 else f"{v:.2f} {unit}"

main = "cpu_ns_per_op" if clock == "cpu" else "ns_per_op"
other = "ns_per_op" if clock == "cpu" else "cpu_ns_per_op"
lines = ["| operation | atcr | reference | ratio |", "| --- | ---: | ---: | ---: |"]
below, other_ratios = [], []
for key, label, unit in rows:
    if key not in results["atcr"] and key not in results["ref"]:
        continue
    a = median_figure("atcr", key, unit, main)
    r = median_figure("ref", key, unit, main)
    x = ratio(key, unit, main)
    if x is not None and x < 10:
        below.append(key)
    cell = "-" if x is None else f"{x:.1f}x" + (" (below 10x)" if x < 10 else "")
    lines.append(f"| {label} | {fmt(a, unit)} | {fmt(r, unit)} | {cell} |")
    y = ratio(key, unit, other)
    if y is not None:
        other_ratios.append(f"{key} {y:.1f}x")

cpu = "?"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
clock_text = ("process CPU time per operation (user + system, all threads, so node's GC counts)"
              if clock == "cpu" else "wall-clock time per operation")
notes = [
    "",
    f"atcr {commit} ({build_type}, Google Benchmark) vs @atproto/repo {lib['@atproto/repo']}, "
    f"@atproto/crypto {lib['@atproto/crypto']}, @atproto/lex-cbor {lib['@atproto/lex-cbor']} on "
    f"node {lib['node']}, same inputs, one thread each, taking turns; {clock_text}, median of "
    f"{max(len(v) for v in results['atcr'].values())} rounds. Ratio = how many times faster atcr "
    f"is (median of the per-round ratios); goal >= 10x.",
    f"Ratios on {'wall-clock' if clock == 'cpu' else 'CPU'} time: {', '.join(other_ratios)}.",
    f"{cpu}, {os.cpu_count()} cores; load average before {load_before}, after {load_after}.",
]
if below:
    notes.append(f"Below the 10x goal: {', '.join(below)}.")
text = "\n".join(lines + notes) + "\n"
open(os.path.join(out, "atproto.md"), "w").write(text)
print(text, end="")
PY
