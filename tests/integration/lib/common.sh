# Shared helpers for the end-to-end shell tests. Source it, then call e2e_init NAME.
#
# - A work dir under $TMPDIR, removed on exit (kept when E2E_KEEP=1 or the test failed and
#   E2E_KEEP_ON_FAIL=1).
# - A cleanup stack run on every exit path (on_exit CMD...); daemons are stopped by PID.
# - start_registry BIN [--htpasswd FILE] [--delete-enabled]: starts `BIN registry serve` on a free
#   loopback port, or Debian's docker-registry 2.8 when BIN's basename is docker-registry (the same
#   scripts then validate against the reference implementation). Sets REG (host:port), REG_URL,
#   REG_PID, REG_LOG. A registry that does not come up fails the test, it never skips it.
# - Assertions (expect_eq, expect_contains, expect_fail, ...) fail fast with a message naming
#   what differed, and dump the tail of every daemon log.

set -euo pipefail

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_OCIGEN="$E2E_LIB_DIR/ocigen.py"
E2E_CLEANUP=()
E2E_LOGS=()
E2E_FAILED=0

log() { printf '[%s %s] %s\n' "${E2E_NAME:-e2e}" "$(date +%T)" "$*" >&2; }

dump_logs() {
  local f
  for f in "${E2E_LOGS[@]}"; do
    [ -f "$f" ] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n 20 "$f" >&2
  done
}

fail() {
  printf '[%s] FAIL: %s\n' "${E2E_NAME:-e2e}" "$*" >&2
  E2E_FAILED=1
  dump_logs
  exit 1
}

pass() { log "ok: $*"; }

on_exit() { E2E_CLEANUP+=("$*"); }

e2e_cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  ((rc != 0)) && E2E_FAILED=1
  for ((i = ${#E2E_CLEANUP[@]} - 1; i >= 0; i--)); do
    eval "${E2E_CLEANUP[i]}" >/dev/null 2>&1 || true
  done
  if [ -n "${E2E_WORK:-}" ] && [ -d "$E2E_WORK" ]; then
    if [ "${E2E_KEEP:-0}" = 1 ] || { ((E2E_FAILED)) && [ "${E2E_KEEP_ON_FAIL:-0}" = 1 ]; }; then
      log "kept work dir $E2E_WORK"
    else
      unmount_under "$E2E_WORK"
      rm -rf "$E2E_WORK" 2>/dev/null || { sleep 1; rm -rf "$E2E_WORK" || true; }
    fi
  fi
  if ((E2E_FAILED)); then log "FAILED"; else log "PASSED"; fi
  exit "$rc"
}

# Daemons such as dockerd can leave mounts (netns, shm) behind; never rm -rf through a mount.
unmount_under() {
  local dir=$1 m
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r)
}

e2e_init() {
  E2E_NAME=$1
  E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/atcr-e2e-$1.XXXXXX")
  trap e2e_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  log "work dir $E2E_WORK"
}

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || fail "required tool '$tool' is not installed (run scripts/bootstrap)"
  done
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_reference_peers [STATE_DIR]: the reference PLC + PDS from npm (tests/peers/start-pds.sh)
# on two free ports, stopped on exit. Sets PLC_PORT, PDS_PORT, PEERS_STATE (default
# $E2E_WORK/peers) and, from start-pds.sh's output, PLC_URL and PDS_URL (exported). Other
# start-pds.sh settings (PLC_LEGACY_DIDDOC=1, ...) come from the caller's environment.
start_reference_peers() {
  local peers
  peers=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../peers" && pwd)
  PEERS_STATE=${1:-$E2E_WORK/peers}
  expect_ok "tests/peers/bootstrap-npm" "$peers/bootstrap-npm"
  PLC_PORT=$(free_port)
  PDS_PORT=$(free_port)
  while [ "$PDS_PORT" = "$PLC_PORT" ]; do PDS_PORT=$(free_port); done
  on_exit "PDS_STATE='$PEERS_STATE' '$peers/stop-pds.sh'"
  E2E_LOGS+=("$PEERS_STATE/pds.log" "$PEERS_STATE/plc.log" "$E2E_WORK/start.err")
  PLC_PORT=$PLC_PORT PDS_PORT=$PDS_PORT PDS_STATE=$PEERS_STATE "$peers/start-pds.sh" \
    >"$E2E_WORK/peers.env" 2>"$E2E_WORK/start.err" ||
    fail "reference PLC :$PLC_PORT + PDS :$PDS_PORT did not start"
  # shellcheck disable=SC1091
  . "$E2E_WORK/peers.env"
  export PDS_URL PLC_URL
  pass "reference PLC at $PLC_URL, PDS at $PDS_URL"
}

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 10). Returns the exit status
# when PID is our child, 0 otherwise.
stop_pid() {
  local pid=$1 secs=${2:-10} i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return $?; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid ignored SIGTERM for ${secs}s; killing"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null
}

# wait_http URL PID SECONDS [ACCEPTED_STATUS_REGEX]: polls until URL answers, failing if PID died.
wait_http() {
  local url=$1 pid=$2 secs=$3 want=${4:-200} code i
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || fail "process $pid exited before $url answered"
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" || true)
    [[ $code =~ ^($want)$ ]] && return 0
    sleep 0.1
  done
  fail "$url did not answer $want within ${secs}s (last status: $code)"
}

# kill_shims SOCKET: SIGKILL containerd shims of the containerd at SOCKET (a path unique to this
# test run); shims outlive containerd when a test dies mid-run. Matches exact PIDs, not names.
kill_shims() {
  local sock=$1 p
  for p in /proc/[0-9]*; do
    case $(cat "$p/comm" 2>/dev/null) in containerd-shim*) ;; *) continue ;; esac
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$sock" && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  return 0
}

is_distribution() { [ "$(basename "$1")" = docker-registry ]; }

start_registry() {
  local bin=$1
  shift
  local htpasswd="" delete=0
  while (($#)); do
    case $1 in
      --htpasswd) htpasswd=$2; shift 2 ;;
      --delete-enabled) delete=1; shift ;;
      *) fail "start_registry: unknown option $1" ;;
    esac
  done
  local port dir
  port=$(free_port)
  dir=$(mktemp -d "$E2E_WORK/registry-$port.XXXX")
  REG="127.0.0.1:$port"
  REG_URL="http://$REG"
  REG_LOG="$dir/registry.log"
  E2E_LOGS+=("$REG_LOG")
  if is_distribution "$bin"; then
    {
      echo 'version: 0.1'
      echo 'log: {level: info, accesslog: {disabled: false}}'
      echo 'storage:'
      echo "  filesystem: {rootdirectory: $dir/data}"
      echo "  delete: {enabled: $([ $delete = 1 ] && echo true || echo false)}"
      echo '  cache: {blobdescriptor: inmemory}'
      echo "http: {addr: $REG}"
      [ -n "$htpasswd" ] && echo "auth: {htpasswd: {realm: atcr-test, path: $htpasswd}}"
    } >"$dir/config.yml"
    (cd "$dir" && exec "$bin" serve config.yml) >"$REG_LOG" 2>&1 &
    REG_PID=$!
    on_exit "stop_pid $REG_PID"
    wait_http "$REG_URL/v2/" "$REG_PID" 20 '200|401'
  else
    [ -x "$bin" ] || fail "atcr binary '$bin' not found or not executable"
    local args=(registry serve --addr "$REG" --data "$dir/data")
    [ -n "$htpasswd" ] && args+=(--htpasswd "$htpasswd")
    ((delete)) && args+=(--delete-enabled)
    "$bin" "${args[@]}" >"$REG_LOG" 2>&1 &
    REG_PID=$!
    on_exit "stop_pid $REG_PID"
    wait_http "$REG_URL/healthz" "$REG_PID" 20
  fi
  log "registry $(basename "$bin") pid $REG_PID on $REG_URL"
}

# stop_registry_cleanly BIN PID: the contract says atcr stops cleanly (exit 0) on SIGTERM.
stop_registry_cleanly() {
  local bin=$1 pid=$2 rc=0
  stop_pid "$pid" 10 || rc=$?
  if ! is_distribution "$bin"; then
    ((rc == 0)) || fail "registry pid $pid exited with status $rc on SIGTERM (want 0)"
    pass "registry pid $pid stopped cleanly on SIGTERM"
  fi
}

expect_eq() { # expect_eq WHAT WANT GOT
  [ "$2" = "$3" ] || fail "$1: want '$2', got '$3'"
  pass "$1"
}

expect_contains() { # expect_contains WHAT HAYSTACK NEEDLE
  grep -qF -- "$3" <<<"$2" || fail "$1: '$3' not found in: $2"
  pass "$1"
}

expect_not_contains() { # expect_not_contains WHAT HAYSTACK NEEDLE
  ! grep -qF -- "$3" <<<"$2" || fail "$1: '$3' unexpectedly found in: $2"
  pass "$1"
}

# expect_ok WHAT CMD...: CMD must succeed; its output goes to the log, and is shown on failure.
expect_ok() {
  local what=$1 out
  shift
  out=$("$@" 2>&1) || { printf '%s\n' "$out" | tail -n 30 >&2; fail "$what: command failed: $*"; }
  printf '%s\n' "$out" >>"$E2E_WORK/commands.log"
  pass "$what"
}

# expect_fail WHAT CMD...: CMD must fail. Its output is kept in $LAST_OUT for further checks.
expect_fail() {
  local what=$1
  shift
  if LAST_OUT=$("$@" 2>&1); then
    printf '%s\n' "$LAST_OUT" | tail -n 30 >&2
    fail "$what: command unexpectedly succeeded: $*"
  fi
  pass "$what"
}

E2E_LAYOUT="$E2E_LIB_DIR/oci_layout.py"

# layout_blobs DIR: sorted digests of every blob file in an OCI layout
layout_blobs() { (cd "$1/blobs/sha256" && ls | sed 's/^/sha256:/' | sort); }

# layout_reachable DIR TAG: sorted digests reachable from TAG (a layout may hold unreferenced blobs)
layout_reachable() { python3 "$E2E_LAYOUT" blobs "$1" "$2"; }

# http_json PATH: GET $REG_URL$PATH; prints the body, fails on non-200.
http_get() {
  local out code
  out=$(curl -s -w '\n%{http_code}' "$REG_URL$1") || fail "GET $1: curl failed"
  code=${out##*$'\n'}
  [ "$code" = 200 ] || fail "GET $1: status $code, body: ${out%$'\n'*}"
  printf '%s\n' "${out%$'\n'*}"
}

# json_query EXPR: evaluates a python expression over the JSON document `d` read from stdin.
json_query() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

# start_docker_daemons: a private containerd + dockerd (vfs, no iptables, no bridge) under
# $E2E_WORK (short paths: unix sockets are limited to 108 bytes). Sets C, D, CTR, DK,
# CTRD_PID, DOCKERD_PID, DOCKER_CONFIG; both are stopped on exit. Needs DOCKER_CLI.
start_docker_daemons() {
  local W=$E2E_WORK
  C=$W/ctrd
  mkdir -p "$C"
  printf '%s\n' 'version = 2' "root = \"$C/lib\"" "state = \"$C/run\"" \
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]' '[grpc]' "  address = \"$C/sock\"" \
    '[ttrpc]' "  address = \"$C/sock.ttrpc\"" >"$C/config.toml"
  E2E_LOGS+=("$C/containerd.log")
  on_exit "kill_shims $C/sock"
  containerd --config "$C/config.toml" >"$C/containerd.log" 2>&1 &
  CTRD_PID=$!
  on_exit "stop_pid $CTRD_PID 15"
  CTR=(ctr --address "$C/sock")
  for ((i = 0; i < 100; i++)); do
    kill -0 $CTRD_PID 2>/dev/null || fail "containerd exited during startup"
    "${CTR[@]}" version >/dev/null 2>&1 && break
    sleep 0.1
  done
  "${CTR[@]}" version >/dev/null 2>&1 || fail "containerd did not answer on $C/sock within 10s"
  log "containerd pid $CTRD_PID"

  D=$W/dockerd
  mkdir -p "$D/data" "$D/exec"
  echo '{}' >"$D/daemon.json"
  E2E_LOGS+=("$D/dockerd.log")
  dockerd --config-file "$D/daemon.json" --iptables=false --ip6tables=false --bridge=none \
    --storage-driver=vfs --data-root "$D/data" --exec-root "$D/exec" -H "unix://$D/sock" \
    --pidfile "$D/dockerd.pid" --containerd "$C/sock" >"$D/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  on_exit "stop_pid $DOCKERD_PID 20"
  export DOCKER_CONFIG=$W/docker-config DOCKER_BUILDKIT=0
  mkdir -p "$DOCKER_CONFIG"
  echo '{}' >"$DOCKER_CONFIG/config.json"
  DK=("$DOCKER_CLI" -H "unix://$D/sock")
  for ((i = 0; i < 200; i++)); do
    kill -0 $DOCKERD_PID 2>/dev/null || fail "dockerd exited during startup"
    "${DK[@]}" version >/dev/null 2>&1 && break
    sleep 0.1
  done
  "${DK[@]}" version >/dev/null 2>&1 || fail "dockerd did not answer on $D/sock within 20s"
  log "dockerd pid $DOCKERD_PID"
}

# free_port_block N: the first of N consecutive free loopback ports.
free_port_block() {
  python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    b = random.randrange(20000, 60000)
    socks = []
    try:
        for p in range(b, b + n):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
        print(b); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
}

# start_atcr_dev BIN DATA_DIR BASE: `BIN dev` on ports BASE..BASE+3, waits for its banner.
# Sets DEV_PID; output in $E2E_WORK/dev.out, logs in $E2E_WORK/dev.err and DATA_DIR/logs/.
start_atcr_dev() {
  local bin=$1 data=$2 base=$3
  E2E_LOGS+=("$E2E_WORK/dev.err" "$data/logs/plc.log" "$data/logs/pds.log" "$data/logs/hold.log" "$data/logs/appview.log")
  "$bin" dev --data "$data" --port-base "$base" >"$E2E_WORK/dev.out" 2>>"$E2E_WORK/dev.err" &
  DEV_PID=$!
  for _ in $(seq 1 900); do
    grep -q "atcr dev is up" "$E2E_WORK/dev.out" 2>/dev/null && return 0
    kill -0 "$DEV_PID" 2>/dev/null || fail "atcr dev exited during start: $(tail -n 20 "$E2E_WORK/dev.err")"
    sleep 0.1
  done
  fail "atcr dev did not come up within 90 s"
}
