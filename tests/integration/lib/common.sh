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
