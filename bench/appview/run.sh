#!/usr/bin/env bash
# AppView benchmark (issue 6 §3), side by side in one run on 127.0.0.1, same disk
# (bench/out/work-appview): a full atcr stack (`atcr dev`: AppView, PDS, PLC, filesystem hold)
# against atcr's standalone registry (`atcr registry serve`), docker-registry 2.8 and nginx
# serving the same manifest file and blob.
# - manifest GET by tag (wrk) and HEAD by digest (hey), warm cache, same tool, concurrency and
#   headers for every target (the AppView's anonymous pull token is sent to all of them);
# - blob GET through the AppView's 307 to the hold (curl -L), 1 and 8 streams;
# - a 256 MiB image (one random layer + config + manifest) pushed end to end with the same
#   client (bench/appview/push_image.py: 16 MiB PATCHes like bench/chunked_push.py, token flow
#   included) and with skopeo from an OCI layout, through AppView + hold and to the registries.
# Goals: AppView manifest GET >= 0.3 x nginx; AppView push >= 0.5 x the standalone registry.
# Writes bench/out/appview.md.
#
# Environment: ATCR_BIN (default $BUILD_DIR/bin/atcr, BUILD_DIR default build), BENCH_SECONDS
# (10), BENCH_REPEAT (3, medians), BENCH_BLOB_MIB (256), BENCH_SKOPEO (1; 0 skips the skopeo
# rows), ATCR_BENCH_LOG_LEVEL (warn), BENCH_KEEP=1 keeps bench/out/work-appview and the logs.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/bench/out
W=$OUT/work-appview
ATCR_BIN=$(realpath "${ATCR_BIN:-$ROOT/${BUILD_DIR:-build}/bin/atcr}")
SECS=${BENCH_SECONDS:-10}
REPEAT=${BENCH_REPEAT:-3}
BLOB_MIB=${BENCH_BLOB_MIB:-256}
BENCH_SKOPEO=${BENCH_SKOPEO:-1}
LOG_LEVEL=${ATCR_BENCH_LOG_LEVEL:-warn}
CHUNK=$((16 * 1048576))
BYTES=$((BLOB_MIB * 1048576))
ACCEPT='Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json'
TARGETS="appview atcr docker-registry nginx"

log() { printf '[bench-appview %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf '[bench-appview] FAIL: %s\n' "$*" >&2; exit 1; }
for tool in wrk hey curl openssl python3 awk nginx docker-registry; do
  command -v $tool >/dev/null || die "$tool not installed (run scripts/bootstrap)"
done
[ "$BENCH_SKOPEO" = 1 ] && { command -v skopeo >/dev/null || die "skopeo not installed (BENCH_SKOPEO=0 skips it)"; }
[ -x "$ATCR_BIN" ] || die "atcr binary $ATCR_BIN not found (make build)"

PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$W"
mkdir -p "$W" "$OUT"

source "$ROOT/bench/lib.sh"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before: $LOAD_BEFORE (2 shared cores: numbers are noisy while others build)"

# --- test data: the small image of bench/run, one big blob to pull, one fresh layer per push --
python3 tests/integration/lib/ocigen.py "$W/img" --tag v1 --layers 1 --name bench >/dev/null
MANIFEST_DIGEST=$(python3 tests/integration/lib/oci_layout.py digest "$W/img" v1)
MANIFEST_FILE=$W/img/blobs/sha256/${MANIFEST_DIGEST#sha256:}
SMALL_BLOBS=$(python3 tests/integration/lib/oci_layout.py blobs "$W/img" v1 | grep -v "$MANIFEST_DIGEST")
BLOB=$W/blob.bin
head -c "$BYTES" /dev/urandom >"$BLOB"
BLOB_DIGEST=sha256:$(openssl dgst -sha256 -r "$BLOB" | cut -d' ' -f1)
for ((i = 0; i < REPEAT; i++)); do
  head -c "$BYTES" /dev/urandom >"$W/layer$i.bin"
  python3 bench/appview/push_image.py layout "$W/push$i" "$W/layer$i.bin" >/dev/null
done
log "manifest $MANIFEST_DIGEST ($(stat -c %s "$MANIFEST_FILE") bytes), blob $BLOB_DIGEST ($BLOB_MIB MiB), $REPEAT push images"

# --- servers ----------------------------------------------------------------------------------
declare -A URL PID REPO TOKEN
BASE=$(free_port_block 4)
# Pull notifications off: each one is a getServiceAuth on the owner's PDS (README "Pull
# notifications"); the manifest-GET figure is the AppView's own cost.
ATCR_APPVIEW_NOTIFY_PULLS=false ATCR_APPVIEW_LOG_LEVEL=$LOG_LEVEL ATCR_HOLD_SERVER_LOG_LEVEL=$LOG_LEVEL \
  ATCR_PDS_LOG_LEVEL=$LOG_LEVEL "$ATCR_BIN" dev --data "$W/dev" --port-base "$BASE" >"$W/dev.out" 2>"$W/dev.err" &
PID[appview]=$!
PIDS+=($!)
for ((i = 0; i < 900; i++)); do
  grep -q "atcr dev is up" "$W/dev.out" 2>/dev/null && break
  kill -0 "${PID[appview]}" 2>/dev/null || die "atcr dev exited during start: $(tail -n 20 "$W/dev.err")"
  sleep 0.1
done
grep -q "atcr dev is up" "$W/dev.out" || die "atcr dev did not come up within 90 s"
URL[appview]=http://127.0.0.1:$BASE
HOLD_URL=http://127.0.0.1:$((BASE + 3))
APP_PASSWORD=$(json 'd["appPassword"]' <"$W/dev/dev-account.json")
HANDLE=$(json 'd["handle"]' <"$W/dev/dev-account.json")
REPO[appview]=$HANDLE/img
child_pid() { # child_pid NAME: the `atcr NAME serve` child of atcr dev
  local p
  for p in $(pgrep -P "${PID[appview]}"); do
    tr '\0' ' ' <"/proc/$p/cmdline" | grep -q " $1 serve" && { echo "$p"; return 0; }
  done
  return 1
}
APPVIEW_PID=$(child_pid appview) || die "no appview child of atcr dev"
HOLD_PID=$(child_pid hold) || die "no hold child of atcr dev"
SERVICE=$(curl -s -D - -o /dev/null "${URL[appview]}/v2/" | tr -d '\r' |
  sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: Bearer .*service="\([^"]*\)".*/\1/p')
[ -n "$SERVICE" ] || die "no Bearer challenge with a service from ${URL[appview]}/v2/"
token() { # token SCOPE [USER:PASSWORD] -> a registry token from the AppView
  local auth=()
  [ -n "${2:-}" ] && auth=(-u "$2")
  curl -sf "${auth[@]}" -G --data-urlencode "service=$SERVICE" --data-urlencode "scope=$1" \
    "${URL[appview]}/auth/token" | json 'd["token"]'
}
log "atcr dev (AppView, PDS, PLC, hold) on ports $BASE-$((BASE + 3))"

port=$(free_port)
"$ATCR_BIN" --log-level "$LOG_LEVEL" registry serve --addr "127.0.0.1:$port" --data "$W/atcr-data" \
  2>"$W/atcr.log" >&2 &
PID[atcr]=$!
PIDS+=($!)
URL[atcr]=http://127.0.0.1:$port
REPO[atcr]=test/img
wait_url "${URL[atcr]}/healthz" "${PID[atcr]}"

port=$(free_port)
mkdir -p "$W/registry"
cat >"$W/registry/config.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $W/registry/data}
  delete: {enabled: true}
  cache: {blobdescriptor: inmemory}
http: {addr: 127.0.0.1:$port}
EOF
(cd "$W/registry" && exec docker-registry serve config.yml) >"$W/registry/registry.log" 2>&1 &
PID[docker-registry]=$!
PIDS+=($!)
URL[docker-registry]=http://127.0.0.1:$port
REPO[docker-registry]=test/img
wait_url "${URL[docker-registry]}/v2/" "${PID[docker-registry]}"

port=$(free_port)
N=$W/nginx
mkdir -p "$N/temp" "$N/logs" "$N/www/v2/test/img/manifests" "$N/www/v2/test/img/blobs"
cp "$MANIFEST_FILE" "$N/www/v2/test/img/manifests/v1"
cp "$MANIFEST_FILE" "$N/www/v2/test/img/manifests/$MANIFEST_DIGEST"
ln "$BLOB" "$N/www/v2/test/img/blobs/$BLOB_DIGEST"
# as in bench/run: the fastest configuration measured in reference/clients.md
cat >"$N/nginx.conf" <<EOF
worker_processes 2;
pid $N/nginx.pid;
error_log $N/logs/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000;
  sendfile off;
  output_buffers 2 1m;
  client_body_temp_path $N/temp/body;
  proxy_temp_path $N/temp/proxy;
  fastcgi_temp_path $N/temp/fastcgi;
  uwsgi_temp_path $N/temp/uwsgi;
  scgi_temp_path $N/temp/scgi;
  types { }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $N/www;
    location /v2/test/img/manifests/ { default_type application/vnd.oci.image.manifest.v1+json; }
  }
}
EOF
nginx -c "$N/nginx.conf" -p "$N/" >"$N/logs/stdout.log" 2>&1 &
PID[nginx]=$!
PIDS+=($!)
URL[nginx]=http://127.0.0.1:$port
REPO[nginx]=test/img
wait_url "${URL[nginx]}/v2/test/img/manifests/v1" "${PID[nginx]}"

# --- seeding (curl, monolithic POST + PUT, as bench/run) -------------------------------------
location() { tr -d '\r' | awk 'tolower($1) == "location:" {print $2}' | tail -n 1; }
absolute() { case $2 in http*) echo "$2" ;; *) echo "$1$2" ;; esac; }
qs() { case $1 in *\?*) echo "$1&$2" ;; *) echo "$1?$2" ;; esac; }
auth() { [ -n "${TOKEN[$1]:-}" ] && printf '%s\n' -H "Authorization: Bearer ${TOKEN[$1]}"; return 0; }
push_mono() { # push_mono TARGET FILE DIGEST
  local base=${URL[$1]} url out hdr
  mapfile -t hdr < <(auth "$1")
  out=$(curl -s -o /dev/null -D - "${hdr[@]}" -X POST -H 'Content-Length: 0' "$base/v2/${REPO[$1]}/blobs/uploads/")
  url=$(location <<<"$out")
  [ -n "$url" ] || die "POST $base/v2/${REPO[$1]}/blobs/uploads/ gave no Location"
  out=$(curl -s -o /dev/null -w '%{http_code}' "${hdr[@]}" -H 'Expect:' -H 'Content-Type: application/octet-stream' \
    -T "$2" "$(qs "$(absolute "$base" "$url")" "digest=$3")")
  [ "$out" = 201 ] || die "monolithic PUT of $3 to $1: status $out"
}
seed() { # seed TARGET: the small image as REPO:v1 and the big blob in REPO
  local d code hdr
  for d in $SMALL_BLOBS; do push_mono "$1" "$W/img/blobs/sha256/${d#sha256:}" "$d"; done
  push_mono "$1" "$BLOB" "$BLOB_DIGEST"
  mapfile -t hdr < <(auth "$1")
  code=$(curl -s -o /dev/null -w '%{http_code}' "${hdr[@]}" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary @"$MANIFEST_FILE" "${URL[$1]}/v2/${REPO[$1]}/manifests/v1")
  [ "$code" = 201 ] || die "manifest PUT to $1: status $code"
}
TOKEN[appview]=$(token "repository:${REPO[appview]}:pull,push" "$HANDLE:$APP_PASSWORD") || die "no push token for $HANDLE"
for t in appview atcr docker-registry; do
  log "seeding $t at ${URL[$t]}"
  seed "$t"
done

# Anonymous pull token (public dev hold); fetched again before each measurement (5 min TTL).
pull_token() { TOKEN[appview]=$(token "repository:${REPO[appview]}:pull") || die "no anonymous pull token"; }
pull_token
for t in $TARGETS; do
  mapfile -t hdr < <(auth "$t")
  got=$(curl -s "${hdr[@]}" -H "$ACCEPT" "${URL[$t]}/v2/${REPO[$t]}/manifests/v1" | openssl dgst -sha256 -r | cut -d' ' -f1)
  [ "sha256:$got" = "$MANIFEST_DIGEST" ] || die "$t does not serve the manifest bytes at /v2/${REPO[$t]}/manifests/v1"
done

# --- measurements -----------------------------------------------------------------------------
declare -A R # R[target.metric] = value
# Every target gets the same request headers, the AppView's pull token included (the others
# ignore it), so the request sizes match.
bearer() { echo "Authorization: Bearer ${TOKEN[appview]}"; }

run_wrk() { # run_wrk TARGET: manifest GET by tag
  local out
  out=$(wrk -t2 -c32 -d"${SECS}s" --latency -H "$ACCEPT" -H "$(bearer)" "${URL[$1]}/v2/${REPO[$1]}/manifests/v1" 2>&1)
  printf '%s\n' "$out" >"$W/wrk-$1.txt"
  grep -q 'Non-2xx' <<<"$out" && die "$1: wrk saw non-2xx responses: $(grep Non-2xx <<<"$out")"
  grep -q 'Socket errors' <<<"$out" && log "$1: wrk $(grep 'Socket errors' <<<"$out")"
  R[$1.get_rps]=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
  R[$1.get_p99]=$(awk '$1 == "99%" {v = $2; if (v ~ /us$/) m = v / 1000; else if (v ~ /ms$/) m = v + 0; else m = v * 1000; printf "%.2f", m}' <<<"$out")
}

run_hey() { # run_hey TARGET: manifest HEAD by digest
  local out codes
  out=$(hey -z "${SECS}s" -c 32 -m HEAD -H "$ACCEPT" -H "$(bearer)" "${URL[$1]}/v2/${REPO[$1]}/manifests/$MANIFEST_DIGEST" 2>&1)
  printf '%s\n' "$out" >"$W/hey-$1.txt"
  codes=$(awk '/Status code distribution/ {f = 1; next} f && /\[[0-9]+\]/ {print $1}' <<<"$out" | tr -d '[]' | sort -u | tr '\n' ' ')
  [ "$codes" = "200 " ] || die "$1: hey HEAD status codes: '$codes' (want only 200)"
  grep -q 'Error distribution' <<<"$out" && log "$1: hey errors: $(sed -n '/Error distribution/,$p' <<<"$out" | head -3 | tr '\n' ' ')"
  R[$1.head_rps]=$(awk '/Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
  R[$1.head_p99]=$(awk '$1 == "99%" && $2 == "in" {printf "%.2f", $3 * 1000}' <<<"$out")
}

blob_get_1() { # blob_get_1 TARGET IGNORED -> MiB/s of one stream (redirects followed)
  local out
  out=$(curl -s -L -o /dev/null -H "$(bearer)" -w '%{http_code} %{size_download} %{speed_download}' "${URL[$1]}/v2/${REPO[$1]}/blobs/$BLOB_DIGEST")
  set -- $out
  [ "$1" = 200 ] && [ "$2" = "$BYTES" ] || die "blob GET: status $1, $2 bytes"
  awk -v s="$3" 'BEGIN {printf "%.0f\n", s / 1048576}'
}

blob_get_8() { # blob_get_8 TARGET IGNORED -> aggregate MiB/s of 8 concurrent streams
  local t0 t1 i pids=() bad=0
  t0=$(now)
  for ((i = 0; i < 8; i++)); do
    curl -s -L -o /dev/null -H "$(bearer)" -w '%{http_code} %{size_download}\n' "${URL[$1]}/v2/${REPO[$1]}/blobs/$BLOB_DIGEST" >"$W/get8-$i.txt" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || bad=1; done
  t1=$(now)
  ((bad == 0)) || die "$1: a concurrent blob GET failed"
  for ((i = 0; i < 8; i++)); do
    [ "$(cat "$W/get8-$i.txt")" = "200 $BYTES" ] || die "$1: concurrent GET $i: $(cat "$W/get8-$i.txt")"
  done
  awk -v a="$t0" -v b="$t1" -v m="$BLOB_MIB" 'BEGIN {printf "%.0f\n", 8 * m / (b - a)}'
}

repeat_median() { # repeat_median CMD...: runs CMD $REPEAT times (CMD gets the index last), median
  local i
  for ((i = 0; i < REPEAT; i++)); do "$@" "$i"; done | median
}

for t in $TARGETS; do
  [ "$t" = appview ] && pull_token
  log "$t: manifest GET by tag (wrk -t2 -c32 -d${SECS}s)"
  run_wrk "$t"
  log "$t: manifest HEAD by digest (hey -c32 -z ${SECS}s)"
  run_hey "$t"
  [ "$t" = docker-registry ] && continue # bench/run has it; the comparison here is the AppView's
  log "$t: blob GET ${BLOB_MIB} MiB, 1 and 8 streams"
  R[$t.get1]=$(repeat_median blob_get_1 "$t")
  R[$t.get8]=$(repeat_median blob_get_8 "$t")
done

# Pushes: repetition i sends image i to every target (a fresh layer for each repetition, so no
# target can skip bytes it already holds), targets interleaved so load drifts hit all alike.
push_client() { # push_client TARGET I -> seconds
  local creds=""
  [ "$1" = appview ] && creds="$HANDLE:$APP_PASSWORD"
  python3 bench/appview/push_image.py push "${URL[$1]}" "${REPO[$1]%/img}/push-$2" v1 "$W/push$2" "$creds" "$CHUNK" ||
    die "push_image.py push to $1 failed"
}
push_skopeo() { # push_skopeo TARGET I -> seconds of `skopeo copy` (process included)
  local creds=() t0 t1
  [ "$1" = appview ] && creds=(--dest-creds "$HANDLE:$APP_PASSWORD")
  t0=$(now)
  skopeo --insecure-policy copy -q --dest-tls-verify=false "${creds[@]}" "oci:$W/push$2:v1" \
    "docker://${URL[$1]#http://}/${REPO[$1]%/img}/skopeo-$2:v1" >"$W/skopeo-$1-$2.log" 2>&1 ||
    die "skopeo copy to $1 failed: $(tail -n 5 "$W/skopeo-$1-$2.log")"
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f\n", b - a}'
}
mibps() { awk -v s="$1" -v m="$BLOB_MIB" 'BEGIN {printf "%.0f\n", m / s}'; }
PUSH_TARGETS="atcr appview docker-registry"
declare -A PUSH_CLIENT PUSH_SKOPEO
for ((i = 0; i < REPEAT; i++)); do
  for t in $PUSH_TARGETS; do
    log "$t: push image $i (${BLOB_MIB} MiB layer), push_image.py"
    v=$(mibps "$(push_client "$t" "$i")")
    log "$t: push_image.py $v MiB/s"
    PUSH_CLIENT[$t]+="$v "
    if [ "$BENCH_SKOPEO" = 1 ]; then
      log "$t: push image $i, skopeo copy"
      v=$(mibps "$(push_skopeo "$t" "$i")")
      log "$t: skopeo $v MiB/s"
      PUSH_SKOPEO[$t]+="$v "
    fi
  done
done
for t in $PUSH_TARGETS; do
  R[$t.push]=$(tr ' ' '\n' <<<"${PUSH_CLIENT[$t]}" | grep . | median)
  [ "$BENCH_SKOPEO" = 1 ] && R[$t.skopeo]=$(tr ' ' '\n' <<<"${PUSH_SKOPEO[$t]}" | grep . | median)
done
# The pushed image pulls back through the AppView with the same digest.
tok=$(token "repository:$HANDLE/push-0:pull") || die "no anonymous pull token for $HANDLE/push-0"
got=$(curl -s -H "Authorization: Bearer $tok" -H "$ACCEPT" "${URL[appview]}/v2/$HANDLE/push-0/manifests/v1" | openssl dgst -sha256 -r | cut -d' ' -f1)
[ "sha256:$got" = "$(python3 tests/integration/lib/oci_layout.py digest "$W/push0" v1)" ] || die "the pushed image does not pull back through the AppView"

SHA_MIB=$(openssl speed -seconds 3 -bytes 16384 -evp sha256 2>/dev/null |
  awk '$1 == "sha256" {v = $2; sub(/k$/, "", v); printf "%.0f", v * 1000 / 1048576}')
rss() { awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
R[appview.rss]=$(rss "$APPVIEW_PID")
R[hold.rss]=$(rss "$HOLD_PID")
R[atcr.rss]=$(rss "${PID[atcr]}")
R[docker-registry.rss]=$(rss "${PID[docker-registry]}")
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -----------------------------------------------------------------------------------
val() { local v=${R[$1]:-}; echo "${v:-n/a}"; }
ratio() { # ratio A B -> A/B with 2 decimals, or n/a
  local a=${R[$1]:-} b=${R[$2]:-}
  if [ -n "$a" ] && [ -n "$b" ]; then awk -v a="$a" -v b="$b" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; else echo n/a; fi
}
row() { # row LABEL METRIC
  echo "| $1 | $(val appview.$2) | $(val atcr.$2) | $(val docker-registry.$2) | $(val nginx.$2) | $(ratio appview.$2 nginx.$2) | $(ratio appview.$2 atcr.$2) |"
}
verdict() { # verdict RATIO GOAL
  awk -v r="$1" -v g="$2" 'BEGIN {if (r == "n/a") print "not measured"; else if (r + 0 >= g) print "**met**"; else print "**missed**"}'
}
GET_RATIO=$(ratio appview.get_rps nginx.get_rps)
PUSH_RATIO=$(ratio appview.push atcr.push)
{
  echo "# atcr AppView benchmark"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- libs/appview bench/appview 2>/dev/null || echo ' (+ uncommitted libs/appview or bench/appview changes)'), $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), load average before $LOAD_BEFORE, after $LOAD_AFTER."
  if awk -v l="${LOAD_BEFORE%% *}" 'BEGIN {exit !(l > 1.0)}'; then
    echo
    echo "**Warning: load average $LOAD_BEFORE before the run on $(nproc) cores; other work competed for the CPU, so absolute numbers are low and noisy (the ratios of one run are still side by side).**"
  fi
  echo
  echo "AppView = \`atcr dev\` (AppView + PDS + PLC + filesystem hold, pull notifications off), name \`$HANDLE/img\`, anonymous pull token; atcr registry = \`atcr registry serve\`. Manifest $(stat -c %s "$MANIFEST_FILE") bytes; blob and layer $BLOB_MIB MiB; medians of $REPEAT runs for MiB/s figures."
  echo
  echo "| measurement | AppView | atcr registry | docker-registry | nginx | AppView/nginx | AppView/atcr registry |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  row "manifest GET by tag, req/s (wrk -t2 -c32 ${SECS}s)" get_rps
  row "manifest GET by tag, p99 ms" get_p99
  row "manifest HEAD by digest, req/s (hey -c32 ${SECS}s)" head_rps
  row "manifest HEAD by digest, p99 ms" head_p99
  row "blob GET ${BLOB_MIB} MiB, 1 stream (curl -L, AppView: 307 to the hold), MiB/s" get1
  row "blob GET ${BLOB_MIB} MiB, 8 streams, aggregate MiB/s" get8
  row "image push, ${BLOB_MIB} MiB layer + config + manifest (push_image.py, 16 MiB PATCHes), MiB/s" push
  [ "$BENCH_SKOPEO" = 1 ] && row "image push, same image (skopeo copy from an OCI layout, process included), MiB/s" skopeo
  echo "| peak RSS (VmHWM) at the end, MiB | $(val appview.rss) (hold $(val hold.rss)) | $(val atcr.rss) | $(val docker-registry.rss) | | | |"
  echo "| sha256 ceiling, 1 core (openssl speed -evp sha256, 16 KiB), MiB/s | $SHA_MIB | | | | | |"
  echo
  echo "Each push, MiB/s (push_image.py): AppView ${PUSH_CLIENT[appview]% }; atcr registry ${PUSH_CLIENT[atcr]% }; docker-registry ${PUSH_CLIENT[docker-registry]% }$([ "$BENCH_SKOPEO" = 1 ] && echo "; skopeo: AppView ${PUSH_SKOPEO[appview]% }; atcr registry ${PUSH_SKOPEO[atcr]% }; docker-registry ${PUSH_SKOPEO[docker-registry]% }")."
  echo
  echo "Goals (issue 6 §3): manifest GET through the AppView >= 0.3 x nginx: $GET_RATIO, $(verdict "$GET_RATIO" 0.3); push end to end >= 0.5 x the standalone registry (push_image.py): $PUSH_RATIO, $(verdict "$PUSH_RATIO" 0.5)."
  echo
  echo "Command: \`bench/appview/run.sh\` (part of \`make bench\`)."
} >"$OUT/appview.md"
cat "$OUT/appview.md"
