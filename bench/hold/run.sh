#!/usr/bin/env bash
# Hold benchmark (issue 5 §3), side by side in one run on 127.0.0.1, same disk (bench/out/work-hold):
# - filesystem driver: blob upload through io.atcr.hold.uploadPart (one part, then
#   completeUpload, which fsyncs before it answers) against docker-registry's monolithic push,
#   the single-core SHA-256 ceiling and the disk (dd with and without fsync); blob download from
#   a public hold, anonymous, through getBlob's 307 to the hold-signed URL (curl -L, redirect
#   included) against docker-registry and nginx (static file, the ceiling), 1 and 8 streams.
#   The peers are measured in turns (hold, docker-registry, nginx, hold, ...) so that load from
#   other processes on the machine falls on all of them alike;
# - S3 (Ceph radosgw, BENCH_S3=0 skips): upload as the AppView does it (presigned part URLs,
#   4 parts in flight, completeUpload's read-back verification included) and download through
#   the presigned redirect, against `aws s3 cp` up and down on the same bucket and sizes.
# Writes bench/out/hold.md. Environment: ATCR_BIN ($BUILD_DIR/bin/atcr, BUILD_DIR=build), BENCH_BLOB_MIB (256),
# BENCH_REPEAT (3, median), BENCH_S3 (1), BENCH_KEEP=1 keeps bench/out/work-hold.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/bench/out
W=$OUT/work-hold
ATCR_BIN=$(realpath "${ATCR_BIN:-$ROOT/${BUILD_DIR:-build}/bin/atcr}")
BLOB_MIB=${BENCH_BLOB_MIB:-256}
REPEAT=${BENCH_REPEAT:-3}
BENCH_S3=${BENCH_S3:-1}
BYTES=$((BLOB_MIB * 1048576))

log() { printf '[bench-hold %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf '[bench-hold] FAIL: %s\n' "$*" >&2; exit 1; }
for tool in curl openssl python3 awk nginx docker-registry; do
  command -v $tool >/dev/null || die "$tool not installed (run scripts/bootstrap)"
done
[ -x "$ATCR_BIN" ] || die "atcr binary $ATCR_BIN not found (make build)"
if [ "$BENCH_S3" = 1 ]; then
  for tool in radosgw aws; do command -v $tool >/dev/null || die "$tool not installed (BENCH_S3=0 skips S3)"; done
fi

PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ "$BENCH_S3" = 1 ] && "$ROOT/tests/peers/stop-radosgw.sh" "$W/rgw" >/dev/null 2>&1 || true
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$W"
mkdir -p "$W" "$OUT"

source "$ROOT/bench/lib.sh"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before: $LOAD_BEFORE"
for ((i = 0; i < REPEAT; i++)); do head -c "$BYTES" /dev/urandom >"$W/blob$i.bin"; done
digest_of() { echo "sha256:$(openssl dgst -sha256 -r "$1" | cut -d' ' -f1)"; }
declare -A DIGEST
for ((i = 0; i < REPEAT; i++)); do DIGEST[$i]=$(digest_of "$W/blob$i.bin"); done

# ---------------------------------------------------------------- token issuer + hold (fs)
ISSUER_PORT=$(free_port)
ISSUER="did:web:127.0.0.1%3A$ISSUER_PORT"
"$ATCR_BIN" tool key gen k256 >"$W/issuer.key"
ISSUER_PRIV=$(sed -n 1p "$W/issuer.key")
ISSUER_DIDKEY=$(sed -n 2p "$W/issuer.key")
mkdir -p "$W/issuer/.well-known"
echo "{\"id\":\"$ISSUER\",\"verificationMethod\":[{\"id\":\"$ISSUER#atproto\",\"type\":\"Multikey\",\"controller\":\"$ISSUER\",\"publicKeyMultibase\":\"${ISSUER_DIDKEY#did:key:}\"}],\"service\":[]}" \
  >"$W/issuer/.well-known/did.json"
python3 -m http.server --bind 127.0.0.1 --directory "$W/issuer" "$ISSUER_PORT" >"$W/issuer.log" 2>&1 &
PIDS+=($!)
wait_url "http://127.0.0.1:$ISSUER_PORT/.well-known/did.json" $!

start_hold() { # start_hold NAME [storage yaml lines] -> sets HOLD_URL HOLD_DID HOLD_DID_Q
  local port=$(free_port) name=$1
  shift
  HOLD_URL="http://127.0.0.1:$port"
  HOLD_DID="did:web:127.0.0.1%3A$port"
  HOLD_DID_Q="did:web:127.0.0.1%253A$port"
  {
    echo "server: {addr: \"127.0.0.1:$port\", public_url: \"$HOLD_URL\", data_dir: \"$W/$name\", log_level: warn, public: true}"
    echo "registration: {owner_did: \"$ISSUER\"}"
    printf '%s\n' "$@"
  } >"$W/$name.yaml"
  "$ATCR_BIN" hold serve --config "$W/$name.yaml" >"$W/$name.log" 2>&1 &
  PIDS+=($!)
  wait_url "$HOLD_URL/xrpc/_health" $!
}
token() { "$ATCR_BIN" tool jwt sign "$ISSUER_PRIV" --iss "$ISSUER" --aud "$HOLD_DID" --lxm "$1" --exp +600; }
xrpc() { # xrpc NSID JSON -> body
  curl -sf -X POST -H "Authorization: Bearer $(token "$1")" -H 'Content-Type: application/json' --data "$2" "$HOLD_URL/xrpc/$1"
}

start_hold hold-fs
log "hold (filesystem, public) at $HOLD_URL"
HOLD_FS_URL=$HOLD_URL

# ---------------------------------------------------------------- docker-registry
port=$(free_port)
mkdir -p "$W/registry"
cat >"$W/registry/config.yml" <<YML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $W/registry/data}
  cache: {blobdescriptor: inmemory}
http: {addr: 127.0.0.1:$port}
YML
(cd "$W/registry" && exec docker-registry serve config.yml) >"$W/registry/registry.log" 2>&1 &
PIDS+=($!)
REG=http://127.0.0.1:$port
wait_url "$REG/v2/" $!

# ---------------------------------------------------------------- nginx (static file ceiling)
port=$(free_port)
N=$W/nginx
mkdir -p "$N/temp" "$N/logs" "$N/www/blobs"
ln "$W/blob0.bin" "$N/www/blobs/blob"
cat >"$N/nginx.conf" <<NGX
worker_processes 2;
pid $N/nginx.pid;
error_log $N/logs/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile off;
  output_buffers 2 1m;
  client_body_temp_path $N/temp/body;
  proxy_temp_path $N/temp/proxy;
  fastcgi_temp_path $N/temp/fastcgi;
  uwsgi_temp_path $N/temp/uwsgi;
  scgi_temp_path $N/temp/scgi;
  types { }
  default_type application/octet-stream;
  server { listen 127.0.0.1:$port; root $N/www; }
}
NGX
nginx -c "$N/nginx.conf" -p "$N/" >"$N/logs/stdout.log" 2>&1 &
PIDS+=($!)
NGINX=http://127.0.0.1:$port/blobs/blob
wait_url "$NGINX" $!

# ---------------------------------------------------------------- measurements
hold_upload() { # hold_upload I -> "TOTAL PART": MiB/s of uploadPart + completeUpload, of uploadPart alone
  local f=$W/blob$1.bin d=${DIGEST[$1]} id tok out t1 etag t2
  id=$(xrpc io.atcr.hold.initiateUpload "{\"digest\":\"$d\"}" | json 'd["uploadId"]')
  tok=$(token io.atcr.hold.uploadPart)
  out=$(curl -s -o "$W/part.json" -w '%{http_code} %{time_total}' -X PUT -H 'Expect:' -H "Authorization: Bearer $tok" \
    -H "X-Upload-Id: $id" -H 'X-Part-Number: 1' -T "$f" "$HOLD_URL/xrpc/io.atcr.hold.uploadPart")
  [ "${out%% *}" = 200 ] || die "uploadPart: status ${out%% *}: $(cat "$W/part.json")"
  t1=${out#* }
  etag=$(json 'd["etag"]' <"$W/part.json")
  tok=$(token io.atcr.hold.completeUpload)
  out=$(curl -s -o "$W/done.json" -w '%{http_code} %{time_total}' -X POST -H "Authorization: Bearer $tok" \
    -H 'Content-Type: application/json' \
    --data "{\"uploadId\":\"$id\",\"digest\":\"$d\",\"parts\":[{\"partNumber\":1,\"etag\":\"$etag\"}]}" \
    "$HOLD_URL/xrpc/io.atcr.hold.completeUpload")
  [ "${out%% *}" = 200 ] || die "completeUpload: status ${out%% *}: $(cat "$W/done.json")"
  t2=${out#* }
  echo "$(mibps "$BYTES" "$(awk -v a="$t1" -v b="$t2" 'BEGIN {print a + b}')") $(mibps "$BYTES" "$t1")"
}
reg_push() { # reg_push I -> MiB/s (POST + monolithic PUT)
  local out post url put
  out=$(curl -s -o /dev/null -D - -w 'time_total: %{time_total}\n' -X POST -H 'Content-Length: 0' "$REG/v2/bench/blobs/uploads/")
  post=$(awk '$1 == "time_total:" {print $2}' <<<"$out")
  url=$(tr -d '\r' <<<"$out" | awk 'tolower($1) == "location:" {print $2}' | tail -n 1)
  case $url in http*) ;; *) url=$REG$url ;; esac
  case $url in *\?*) url="$url&digest=${DIGEST[$1]}" ;; *) url="$url?digest=${DIGEST[$1]}" ;; esac
  out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H 'Expect:' -H 'Content-Type: application/octet-stream' -T "$W/blob$1.bin" "$url")
  [ "${out%% *}" = 201 ] || die "docker-registry PUT: status ${out%% *}"
  put=${out#* }
  mibps "$BYTES" "$(awk -v a="$post" -v b="$put" 'BEGIN {print a + b}')"
}
dd_disk() { # dd_disk [conv=fsync] -> MiB/s of writing BYTES with dd on this filesystem
  local s
  s=$(dd if=/dev/zero of="$W/dd.tmp" bs=1M count="$BLOB_MIB" "$@" 2>&1 | awk '/copied/ {print $(NF - 3)}')
  rm -f "$W/dd.tmp"
  mibps "$BYTES" "$s"
}
url_get_1() { # url_get_1 URL -> MiB/s, redirects followed (time_total of curl -L)
  local out
  out=$(curl -s -L -o /dev/null -w '%{http_code} %{size_download} %{time_total}' "$1")
  set -- $out
  [ "$1" = 200 ] && [ "$2" = "$BYTES" ] || die "GET: status $1, $2 bytes"
  mibps "$BYTES" "$3"
}
get_8() { # get_8 URL -> aggregate MiB/s of 8 concurrent streams
  local t0 t1 i pids=()
  t0=$(now)
  for ((i = 0; i < 8; i++)); do
    curl -s -L -o /dev/null -w '%{http_code} %{size_download}\n' "$1" >"$W/get8-$i.txt" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  t1=$(now)
  for ((i = 0; i < 8; i++)); do
    [ "$(cat "$W/get8-$i.txt")" = "200 $BYTES" ] || die "concurrent GET $i: $(cat "$W/get8-$i.txt")"
  done
  awk -v a="$t0" -v b="$t1" -v m="$BLOB_MIB" 'BEGIN {printf "%.0f\n", 8 * m / (b - a)}'
}
redirect_ms() { # redirect_ms URL -> median ms of 21 getBlob requests answered with the 307 (not followed)
  local i out
  for ((i = 0; i < 21; i++)); do
    out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$1")
    [ "${out%% *}" = 307 ] || die "getBlob: status ${out%% *}, not 307"
    awk -v t="${out#* }" 'BEGIN {printf "%.2f\n", t * 1000}'
  done | median
}
declare -A R S
add() { S[$1]+="$2 "; } # add KEY VALUE: one sample
sample() { # sample KEY COMMAND...: runs the command (failing the run if it fails), adds its output
  local k=$1 v
  shift
  v=$("$@")
  add "$k" "$v"
}
med() { local k; for k in "$@"; do R[$k]=$(tr ' ' '\n' <<<"${S[$k]}" | grep . | median); done; }

log "disk: dd ${BLOB_MIB} MiB with and without fsync x$REPEAT"
for ((i = 0; i < REPEAT; i++)); do
  sample disk.fsync dd_disk conv=fsync
  sample disk.cache dd_disk
done
log "upload ${BLOB_MIB} MiB x$REPEAT: hold (uploadPart + completeUpload), docker-registry (monolithic), in turns"
for ((i = 0; i < REPEAT; i++)); do
  out=$(hold_upload "$i")
  read -r total part <<<"$out"
  add hold.up "$total"
  add hold.part "$part"
  sample reg.up reg_push "$i"
done
HOLD_GET="$HOLD_FS_URL/xrpc/com.atproto.sync.getBlob?did=$HOLD_DID_Q&cid=${DIGEST[0]}"
SIGNED=$(curl -s -o /dev/null -w '%{redirect_url}' "$HOLD_GET")
REG_GET="$REG/v2/bench/blobs/${DIGEST[0]}"
log "download, 1 stream x$REPEAT: hold (getBlob + 307 + signed URL), signed URL alone, docker-registry, nginx, in turns"
for ((i = 0; i < REPEAT; i++)); do
  sample hold.get1 url_get_1 "$HOLD_GET"
  sample hold.signed1 url_get_1 "$SIGNED"
  sample reg.get1 url_get_1 "$REG_GET"
  sample nginx.get1 url_get_1 "$NGINX"
done
log "download, 8 streams x$REPEAT, in turns"
for ((i = 0; i < REPEAT; i++)); do
  sample hold.get8 get_8 "$HOLD_GET"
  sample reg.get8 get_8 "$REG_GET"
  sample nginx.get8 get_8 "$NGINX"
done
sample hold.redirect redirect_ms "$HOLD_GET"
med disk.fsync disk.cache hold.up hold.part reg.up hold.get1 hold.signed1 reg.get1 nginx.get1 \
  hold.get8 reg.get8 nginx.get8 hold.redirect
R[sha]=$(openssl speed -seconds 3 -bytes 16384 -evp sha256 2>/dev/null |
  awk '$1 == "sha256" {v = $2; sub(/k$/, "", v); printf "%.0f", v * 1000 / 1048576}')

# ---------------------------------------------------------------- S3 (radosgw)
if [ "$BENCH_S3" = 1 ]; then
  # memstore keeps objects in RAM and radosgw frees overwritten ones only hours later: room for
  # every object the runs below write (hold and awscli, REPEAT each) and some.
  RADOSGW_MEMSTORE_BYTES=$(((2 * REPEAT + 2) * BYTES + 512 * 1048576)) \
    "$ROOT/tests/peers/start-radosgw.sh" "$W/rgw" >"$W/rgw.env" 2>"$W/rgw.err" || die "radosgw: $(tail -3 "$W/rgw.err")"
  # shellcheck disable=SC1091
  . "$W/rgw.env"
  start_hold hold-s3 "storage: {driver: s3, endpoint: \"$S3_ENDPOINT\", region: \"$S3_REGION\", bucket: \"$S3_BUCKET\", access_key: \"$S3_ACCESS_KEY\", secret_key: \"$S3_SECRET_KEY\", force_path_style: true, prefix: \"hold/\"}"
  log "hold (s3) at $HOLD_URL on $S3_ENDPOINT"
  PART=$((16 * 1048576))
  python3 - "$W/blob0.bin" "$PART" "$W/s3parts" <<'PY'
import os, sys
src, size, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(out, exist_ok=True)
with open(src, "rb") as f:
    n = 0
    while True:
        chunk = f.read(size)
        if not chunk:
            break
        n += 1
        open(os.path.join(out, "%05d" % n), "wb").write(chunk)
PY
  NPARTS=$(ls "$W/s3parts" | wc -l)
  s3_hold_upload() { # presigned parts, 4 in flight, then completeUpload (read-back verify)
    local d=${DIGEST[0]} id n t0 t1 url running=0
    id=$(xrpc io.atcr.hold.initiateUpload "{\"digest\":\"$d\"}" | json 'd["uploadId"]')
    for ((n = 1; n <= NPARTS; n++)); do
      xrpc io.atcr.hold.getPartUploadUrl "{\"uploadId\":\"$id\",\"partNumber\":$n}" | json 'd["url"]' >"$W/s3url.$n"
    done
    t0=$(now)
    for ((n = 1; n <= NPARTS; n++)); do
      curl -s -m 600 -D "$W/s3hdr.$n" -o /dev/null -X PUT -H 'Expect:' -T "$W/s3parts/$(printf %05d $n)" "$(cat "$W/s3url.$n")" &
      running=$((running + 1))
      if ((running == 4)); then wait -n; running=$((running - 1)); fi
    done
    wait
    local parts="["
    for ((n = 1; n <= NPARTS; n++)); do
      local etag
      etag=$(tr -d '\r' <"$W/s3hdr.$n" | sed -n 's/^[Ee][Tt]ag: *//p')
      [ -n "$etag" ] || die "radosgw gave no ETag for part $n"
      ((n > 1)) && parts+=","
      parts+="{\"partNumber\":$n,\"etag\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$etag")}"
    done
    parts+="]"
    xrpc io.atcr.hold.completeUpload "{\"uploadId\":\"$id\",\"digest\":\"$d\",\"parts\":$parts}" >/dev/null ||
      die "completeUpload on S3 failed"
    t1=$(now)
    mibps "$BYTES" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
  }
  aws_s3() {
    AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_DEFAULT_REGION=$S3_REGION \
      aws --endpoint-url "$S3_ENDPOINT" s3 "$@"
  }
  aws_up() { local t0 t1; t0=$(now); aws_s3 cp --only-show-errors "$W/blob0.bin" "s3://$S3_BUCKET/awscli/blob$1" >/dev/null; t1=$(now); mibps "$BYTES" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"; }
  aws_down() { local t0 t1; t0=$(now); aws_s3 cp --only-show-errors "s3://$S3_BUCKET/awscli/blob0" "$W/aws.down" >/dev/null; t1=$(now); rm -f "$W/aws.down"; mibps "$BYTES" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"; }
  S3_GET="$HOLD_URL/xrpc/com.atproto.sync.getBlob?did=$HOLD_DID_Q&cid=${DIGEST[0]}"
  log "S3 x$REPEAT: hold upload (presigned parts) and aws s3 cp up, in turns"
  for ((i = 0; i < REPEAT; i++)); do
    sample s3.up s3_hold_upload
    sample aws.up aws_up "$i"
  done
  log "S3 x$REPEAT: hold download (presigned redirect) and aws s3 cp down, in turns"
  for ((i = 0; i < REPEAT; i++)); do
    sample s3.get1 url_get_1 "$S3_GET"
    sample aws.get1 aws_down
  done
  med s3.up aws.up s3.get1 aws.get1
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

val() { echo "${R[$1]:-n/a}"; }
ratio() { local a=${R[$1]:-} b=${R[$2]:-}; if [ -n "$a" ] && [ -n "$b" ]; then awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}'; else echo n/a; fi; }
REV=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
git diff --quiet HEAD -- libs/hold bench/hold 2>/dev/null || REV="$REV + uncommitted changes in libs/hold or bench/hold"
{
  echo "# hold benchmark"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), git $REV, $(nproc) cores, load average before $LOAD_BEFORE, after $LOAD_AFTER; ${BLOB_MIB} MiB blobs, median of $REPEAT (peers measured in turns)."
  echo
  echo "| MiB/s | hold | docker-registry | nginx | hold/nginx | hold/docker-registry | hold/sha256 |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  echo "| upload, durable (hold: uploadPart + completeUpload, fsync before the answer; registry: monolithic push) | $(val hold.up) | $(val reg.up) | | | $(ratio hold.up reg.up) | $(ratio hold.up sha) |"
  echo "| upload, uploadPart alone (receive + hash + write, before completeUpload's fsync) | $(val hold.part) | | | | | $(ratio hold.part sha) |"
  echo "| disk: dd ${BLOB_MIB} MiB conv=fsync / without fsync (page cache), same filesystem | $(val disk.fsync) / $(val disk.cache) | | | | | $(ratio disk.fsync sha) / $(ratio disk.cache sha) |"
  echo "| download, 1 stream (hold: anonymous getBlob + 307 + signed URL) | $(val hold.get1) | $(val reg.get1) | $(val nginx.get1) | $(ratio hold.get1 nginx.get1) | $(ratio hold.get1 reg.get1) | |"
  echo "| download, 8 streams | $(val hold.get8) | $(val reg.get8) | $(val nginx.get8) | $(ratio hold.get8 nginx.get8) | $(ratio hold.get8 reg.get8) | |"
  echo "| download, 1 stream, the signed URL alone (no getBlob) | $(val hold.signed1) | | $(val nginx.get1) | $(ratio hold.signed1 nginx.get1) | | |"
  echo
  echo "getBlob's 307 alone: $(val hold.redirect) ms (median of 21). SHA-256 ceiling (openssl speed, one core): $(val sha) MiB/s."
  echo "Goals: upload >= 0.7 of the SHA-256 ceiling, download >= 0.9 of nginx."
  if [ "$BENCH_S3" = 1 ]; then
    echo
    echo "| S3 on radosgw, MiB/s | hold | aws s3 cp | hold/aws |"
    echo "| --- | ---: | ---: | ---: |"
    echo "| upload (hold: presigned 16 MiB parts x4 in flight + completeUpload read-back) | $(val s3.up) | $(val aws.up) | $(ratio s3.up aws.up) |"
    echo "| download (hold: getBlob + 307 to a presigned GET) | $(val s3.get1) | $(val aws.get1) | $(ratio s3.get1 aws.get1) |"
  fi
} | tee "$OUT/hold.md"
