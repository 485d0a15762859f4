#!/usr/bin/env bash
# Starts the in-memory PLC directory and the reference PDS on 127.0.0.1, fresh state each time.
#
# env:
#   PLC_PORT      (default 2582)          PDS_PORT (default 2583)
#   PDS_STATE     state dir, WIPED at start (default ${TMPDIR:-/tmp}/atcr-peers-$PDS_PORT)
#   NODE          node binary (default: node on PATH)
#   PDS_DIR       npm project holding @atproto/pds (default: this directory)
#   PEERS_START_TIMEOUT  seconds to wait for both health endpoints (default 60)
#   LOG_ENABLED   true => PDS/PLC pino logs go to $PDS_STATE/{pds,plc}.log
#   PLC_LEGACY_DIDDOC=1  PLC serves legacy-shaped DID documents
#   EXTERNAL_PLC_URL=http://127.0.0.1:P  use that PLC directory (e.g. `atcr plc serve`) instead of
#                 starting plc.cjs; PLC_PORT is then ignored and PLC_PID is empty
#   PDS_ADMIN_PASSWORD (default admin-pass), any other PDS_* var is passed through.
#
# On success prints shell assignments on stdout (eval-able) and writes the same to
# $PDS_STATE/peers.env:
#   PLC_URL=http://localhost:P  PDS_URL=http://localhost:Q  PDS_STATE=...  PDS_ADMIN_PASSWORD=...
#   PLC_PID=...  PDS_PID=...
# PIDs are also in $PDS_STATE/plc.pid and $PDS_STATE/pds.pid; stop with stop-pds.sh.
# Several instances may run at once on different ports with different state dirs.
set -euo pipefail
set +m  # no job control: `setsid node ... &` must exec node in place so $! is its PID

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NODE=${NODE:-node}
PDS_DIR=${PDS_DIR:-$here}
PLC_PORT=${PLC_PORT:-2582}
EXTERNAL_PLC_URL=${EXTERNAL_PLC_URL:-}
PDS_PORT=${PDS_PORT:-2583}
PDS_STATE=${PDS_STATE:-${TMPDIR:-/tmp}/atcr-peers-$PDS_PORT}
timeout_s=${PEERS_START_TIMEOUT:-60}

die() { echo "start-pds: $*" >&2; exit 1; }

command -v "$NODE" >/dev/null 2>&1 || die "node binary '$NODE' not found (run tests/peers/bootstrap-npm)"
command -v curl >/dev/null 2>&1 || die "curl not found"
[ -d "$here/node_modules/@did-plc/server" ] || die "$here/node_modules missing: run tests/peers/bootstrap-npm"
for p in "$PLC_PORT" "$PDS_PORT"; do
  [[ "$p" =~ ^[0-9]+$ ]] && ((p > 0 && p < 65536)) || die "bad port '$p'"
done
[ -n "$EXTERNAL_PLC_URL" ] || [ "$PLC_PORT" != "$PDS_PORT" ] || die "PLC_PORT and PDS_PORT must differ"

# Refuse to wipe something that is obviously not a scratch dir.
case "$PDS_STATE" in
  "" | / | /tmp | /tmp/ | "$HOME" | "$HOME/" | /work | /work/ ) die "refusing to use PDS_STATE='$PDS_STATE'";;
esac
PDS_STATE=$(realpath -m "$PDS_STATE")

# A previous instance on this state dir is stopped first.
if [ -f "$PDS_STATE/plc.pid" ] || [ -f "$PDS_STATE/pds.pid" ]; then
  PDS_STATE="$PDS_STATE" "$here/stop-pds.sh" || true
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
[ -n "$EXTERNAL_PLC_URL" ] || ! port_busy "$PLC_PORT" || die "port $PLC_PORT (PLC) is already in use"
port_busy "$PDS_PORT" && die "port $PDS_PORT (PDS) is already in use"

rm -rf "$PDS_STATE"
mkdir -p "$PDS_STATE/data" "$PDS_STATE/blobs"
chmod 700 "$PDS_STATE"

rand_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
PDS_ADMIN_PASSWORD=${PDS_ADMIN_PASSWORD:-admin-pass}
LOG_ENABLED=${LOG_ENABLED:-false}

t0=$(date +%s.%N)
plc_pid= pds_pid=
cleanup_fail() {
  [ -n "$pds_pid" ] && kill "$pds_pid" 2>/dev/null || true
  [ -n "$plc_pid" ] && kill "$plc_pid" 2>/dev/null || true
  rm -f "$PDS_STATE/plc.pid" "$PDS_STATE/pds.pid"
}

# setsid: the servers outlive this script and ignore the caller's job-control signals;
# all output goes to files so $(start-pds.sh) returns as soon as this script exits.
if [ -n "$EXTERNAL_PLC_URL" ]; then
  plc_url=${EXTERNAL_PLC_URL%/}
else
  PLC_PORT=$PLC_PORT LOG_ENABLED=$LOG_ENABLED \
    setsid "$NODE" "$here/plc.cjs" </dev/null >"$PDS_STATE/plc.log" 2>&1 &
  plc_pid=$!
  echo "$plc_pid" >"$PDS_STATE/plc.pid"
  plc_url=http://localhost:$PLC_PORT
fi

env PDS_DIR="$PDS_DIR" \
  PDS_HOSTNAME="${PDS_HOSTNAME:-localhost}" \
  PDS_PORT="$PDS_PORT" \
  PDS_DEV_MODE="${PDS_DEV_MODE:-true}" \
  PDS_DATA_DIRECTORY="$PDS_STATE/data" \
  PDS_BLOBSTORE_DISK_LOCATION="$PDS_STATE/blobs" \
  PDS_DID_PLC_URL="${PDS_DID_PLC_URL:-$plc_url}" \
  PDS_INVITE_REQUIRED="${PDS_INVITE_REQUIRED:-false}" \
  PDS_SERVICE_HANDLE_DOMAINS="${PDS_SERVICE_HANDLE_DOMAINS:-.test}" \
  PDS_JWT_SECRET="${PDS_JWT_SECRET:-$(rand_hex 16)}" \
  PDS_ADMIN_PASSWORD="$PDS_ADMIN_PASSWORD" \
  PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX="${PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX:-$(rand_hex 32)}" \
  PDS_CRAWLERS="${PDS_CRAWLERS:-}" \
  PDS_BSKY_APP_VIEW_URL="${PDS_BSKY_APP_VIEW_URL:-}" \
  PDS_BSKY_APP_VIEW_DID="${PDS_BSKY_APP_VIEW_DID:-}" \
  PDS_RATE_LIMITS_ENABLED="${PDS_RATE_LIMITS_ENABLED:-false}" \
  PDS_BLOB_UPLOAD_LIMIT="${PDS_BLOB_UPLOAD_LIMIT:-104857600}" \
  LOG_ENABLED="$LOG_ENABLED" \
  setsid "$NODE" "$here/pds.mjs" </dev/null >"$PDS_STATE/pds.log" 2>&1 &
pds_pid=$!
echo "$pds_pid" >"$PDS_STATE/pds.pid"

healthy() { curl -sf -o /dev/null --max-time 2 "$1"; }
plc_ok= pds_ok=
deadline=$(( $(date +%s) + timeout_s ))
while :; do
  [ -n "$plc_ok" ] || { healthy "${EXTERNAL_PLC_URL:-http://127.0.0.1:$PLC_PORT}/_health" && plc_ok=1; } || true
  [ -n "$pds_ok" ] || { healthy "http://127.0.0.1:$PDS_PORT/xrpc/_health" && pds_ok=1; } || true
  [ -n "$plc_ok" ] && [ -n "$pds_ok" ] && break
  for which in plc pds; do
    pid_var=${which}_pid
    [ -n "${!pid_var}" ] || continue
    if ! kill -0 "${!pid_var}" 2>/dev/null; then
      echo "start-pds: $which exited during startup; last lines of $PDS_STATE/$which.log:" >&2
      tail -n 30 "$PDS_STATE/$which.log" >&2 || true
      cleanup_fail
      exit 1
    fi
  done
  if (( $(date +%s) >= deadline )); then
    echo "start-pds: timeout after ${timeout_s}s (plc healthy: ${plc_ok:-no}, pds healthy: ${pds_ok:-no})" >&2
    tail -n 15 "$PDS_STATE/plc.log" "$PDS_STATE/pds.log" >&2 || true
    cleanup_fail
    exit 1
  fi
  sleep 0.2
done

elapsed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
{
  echo "PLC_URL=$plc_url"
  echo "PDS_URL=http://localhost:$PDS_PORT"
  echo "PLC_PORT=$PLC_PORT"
  echo "PDS_PORT=$PDS_PORT"
  echo "PDS_STATE=$PDS_STATE"
  echo "PDS_ADMIN_PASSWORD=$PDS_ADMIN_PASSWORD"
  echo "PLC_PID=$plc_pid"
  echo "PDS_PID=$pds_pid"
} | tee "$PDS_STATE/peers.env"
echo "start-pds: PLC $plc_url (pid ${plc_pid:-external}) and PDS :$PDS_PORT (pid $pds_pid) healthy in ${elapsed}s; state $PDS_STATE" >&2
