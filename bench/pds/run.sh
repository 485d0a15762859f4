#!/usr/bin/env bash
# PDS benchmark (issue 4 §3): atcr's PDS (`atcr plc serve` + `atcr pds serve`, SQLite on disk)
# and the reference PDS (@atproto/pds 0.4.217 + in-memory PLC, tests/peers/start-pds.sh) on the
# same machine in one run, driven by the same client (bench/pds/pds-bench.mjs): sequential
# putRecord, getRecord, applyWrites in batches of 10, and firehose fan-out to 50 consumers.
# Prints a markdown table (atcr, reference, ratio; goal >= 10x, no dropped event) and writes it
# to bench/out/pds.md, raw JSON to bench/out/pds-{atcr,reference}.json.
#
# Environment: BUILD_DIR (default build), PDS_BENCH_N (default 500 requests per operation),
# PDS_BENCH_CONSUMERS (default 50), PDS_BENCH_FANOUT_WRITES (default 200).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD_DIR:-build}
N=${PDS_BENCH_N:-500}
CONSUMERS=${PDS_BENCH_CONSUMERS:-50}
FANOUT=${PDS_BENCH_FANOUT_WRITES:-200}
OUT=$ROOT/bench/out
BIN=$ROOT/$BUILD/bin/atcr
log() { printf '[pds-bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf '[pds-bench] FAIL: %s\n' "$*" >&2; exit 1; }
[ -x "$BIN" ] || die "$BIN not built (make build)"
command -v node >/dev/null || die "node not installed (run scripts/bootstrap)"
tests/peers/bootstrap-npm || die "tests/peers/bootstrap-npm failed"
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/atcr-pds-bench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  PDS_STATE="$WORK/ref" tests/peers/stop-pds.sh >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  die "$1 did not come up"
}

# getRecord again with hey (Go, one connection, requests back to back), so the figure is the
# server's and not node's fetch overhead: the driver printed the DID it wrote p0.. under.
hey_get() { # hey_get BASE_URL DRIVER_JSON
  local did
  did=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["did"])' "$2")
  hey -n "$((N * 4))" -c 1 "$1/xrpc/com.atproto.repo.getRecord?repo=$did&collection=io.atcr.tag&rkey=p0"
}
command -v hey >/dev/null || die "hey not installed (run scripts/bootstrap)"

# ---- atcr
plc_port=$(free_port)
pds_port=$(free_port)
"$BIN" plc serve --addr "127.0.0.1:$plc_port" --data "$WORK/plc" >"$WORK/plc.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$plc_port/_health"
"$BIN" pds serve --addr "127.0.0.1:$pds_port" --data "$WORK/pds" --plc "http://127.0.0.1:$plc_port" \
  --handle-domain .test >"$WORK/pds.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$pds_port/xrpc/_health"
log "atcr PDS on :$pds_port"
node bench/pds/pds-bench.mjs --pds "http://127.0.0.1:$pds_port" --n "$N" --consumers "$CONSUMERS" \
  --fanout-writes "$FANOUT" >"$OUT/pds-atcr.json"
hey_get "http://127.0.0.1:$pds_port" "$OUT/pds-atcr.json" >"$OUT/pds-atcr-hey.txt"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
pids=()

# ---- reference
ref_plc=$(free_port)
ref_pds=$(free_port)
eval "$(PLC_PORT=$ref_plc PDS_PORT=$ref_pds PDS_STATE=$WORK/ref tests/peers/start-pds.sh)"
log "reference PDS on $PDS_URL"
node bench/pds/pds-bench.mjs --pds "$PDS_URL" --n "$N" --consumers "$CONSUMERS" \
  --fanout-writes "$FANOUT" >"$OUT/pds-reference.json"
hey_get "$PDS_URL" "$OUT/pds-reference.json" >"$OUT/pds-reference-hey.txt"
PDS_STATE="$WORK/ref" tests/peers/stop-pds.sh >/dev/null 2>&1 || true

python3 - "$OUT/pds-atcr.json" "$OUT/pds-reference.json" "$OUT/pds.md" <<'EOF'
import json, sys
import re
a = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
def hey_rate(path):
    m = re.search(r"Requests/sec:\s+([0-9.]+)", open(path).read())
    return float(m.group(1)) if m else float("nan")
ha = hey_rate(sys.argv[1].replace(".json", "-hey.txt")); hr = hey_rate(sys.argv[2].replace(".json", "-hey.txt"))
rows = [
    ("putRecord, sequential (req/s)", a["putRecord"]["perSecond"], r["putRecord"]["perSecond"]),
    ("getRecord, sequential, node client (req/s)", a["getRecord"]["perSecond"], r["getRecord"]["perSecond"]),
    ("getRecord, sequential, hey -c 1 (req/s)", ha, hr),
    ("applyWrites, 10 creates per call (writes/s)", a["applyWrites"]["writesPerSecond"], r["applyWrites"]["writesPerSecond"]),
    (f"firehose fan-out, {a['fanout']['consumers']} consumers (events delivered/s)", a["fanout"]["eventsPerSecond"], r["fanout"]["eventsPerSecond"]),
]
lines = ["| operation | atcr | reference PDS 0.4.217 | ratio |", "|---|---:|---:|---:|"]
for name, x, y in rows:
    lines.append(f"| {name} | {x:,.0f} | {y:,.0f} | {x / y:.1f}x |")
lines.append(f"| fan-out dropped events (of {a['fanout']['expected']}) | {a['fanout']['dropped']} | {r['fanout']['dropped']} | |")
text = "\n".join(lines)
print(text)
open(sys.argv[3], "w").write(text + "\n")
EOF
