#!/usr/bin/env bash
# ATProto core benchmarks (issue 3 §4): atcr (Google Benchmark, bench/atproto/atproto_bench.cpp)
# and the reference TypeScript libraries under node (bench/atproto/ref_bench.mjs) on the same
# inputs, in one run. Prints a markdown table (operation, atcr, reference, ratio; goal >= 10x)
# and writes it to bench/out/atproto.md; raw results go to bench/out/atproto-{atcr,ref}.json.
#
# Environment:
#   BUILD_DIR                 CMake build dir holding the benchmark (default build; configured
#                             like `make build` if it has no build.ninja yet)
#   JOBS                      build parallelism (default 2)
#   ATPROTO_BENCH_MIN_TIME    seconds per repetition on both sides (default 1)
#   ATPROTO_BENCH_REPS        repetitions, the median is reported (default 3)
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

filter=.
[ -z "$ONLY" ] || filter="^(${ONLY//,/|})(/|\$)"
log "atcr: Google Benchmark, ${REPS} x ${MIN_TIME}s each"
"$BIN" --benchmark_filter="$filter" --benchmark_min_time="$MIN_TIME" \
  --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
  --benchmark_out="$OUT/atproto-atcr.json" --benchmark_out_format=json >&2
[ -s "$OUT/atproto-atcr.json" ] || die "atcr_atproto_bench ran no benchmark (filter '$filter')"

log "reference: node $(node --version), ${REPS} x ${MIN_TIME}s each"
ref_args=("$INPUTS" --min-ms "$(awk -v t="$MIN_TIME" 'BEGIN { printf "%d", t * 1000 }')" --reps "$REPS")
[ -z "$ONLY" ] || ref_args+=(--only "$ONLY")
node bench/atproto/ref_bench.mjs "${ref_args[@]}" >"$OUT/atproto-ref.json"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt")
python3 - "$OUT" "$INPUTS/inputs.json" "$load_before" "$load_after" \
  "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" "${build_type:-RelWithDebInfo}" "$CLOCK" <<'PY'
import json, os, sys
out, inputs_path, load_before, load_after, commit, build_type, clock = sys.argv[1:]
inputs = json.load(open(inputs_path))
atcr_raw = json.load(open(os.path.join(out, "atproto-atcr.json")))
ref = json.load(open(os.path.join(out, "atproto-ref.json")))

to_ns = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
atcr = {}
for b in atcr_raw["benchmarks"]:
    if b.get("error_occurred"):
        sys.exit(f"atcr benchmark {b['name']} failed: {b.get('error_message')}")
    if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
        continue
    name = b.get("run_name", b["name"]).removesuffix("/real_time")
    unit = to_ns[b["time_unit"]]
    atcr[name] = {"ns_per_op": b["real_time"] * unit, "cpu_ns_per_op": b["cpu_time"] * unit,
                  "bytes_per_op": b.get("bytes_per_op")}

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

def ratio(key, unit, field):
    if key not in atcr or key not in ref["results"]:
        return None
    a, r = figure(atcr[key], unit, field), figure(ref["results"][key], unit, field)
    return r / a if unit == "ms" else a / r

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
    if key not in atcr and key not in ref["results"]:
        continue
    a = figure(atcr[key], unit, main) if key in atcr else None
    r = figure(ref["results"][key], unit, main) if key in ref["results"] else None
    x = ratio(key, unit, main)
    if x is not None and x < 10:
        below.append(key)
    cell = "-" if x is None else f"{x:.1f}x" + (" (below 10x)" if x < 10 else "")
    lines.append(f"| {label} | {fmt(a, unit)} | {fmt(r, unit)} | {cell} |")
    y = ratio(key, unit, other)
    if y is not None:
        other_ratios.append(f"{key} {y:.1f}x")

lib = ref["library"]
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
    f"node {lib['node']}, same inputs, one thread each; median of repetitions of "
    f"{clock_text}. Ratio = how many times faster atcr is; goal >= 10x.",
    f"Ratios on {'wall-clock' if clock == 'cpu' else 'CPU'} time: {', '.join(other_ratios)}.",
    f"{cpu}, {os.cpu_count()} cores; load average before {load_before}, after {load_after}.",
]
if below:
    notes.append(f"Below the 10x goal: {', '.join(below)}.")
text = "\n".join(lines + notes) + "\n"
open(os.path.join(out, "atproto.md"), "w").write(text)
print(text, end="")
PY
