#!/usr/bin/env bash
# Starts a single-node Ceph (1 mon + 1 memstore OSD, no mgr) with radosgw on 127.0.0.1, fresh
# state each time, creates an S3 user and a bucket (shared/reference/peers.md §4).
#
# usage: start-radosgw.sh [STATE_DIR]
# env:
#   RADOSGW_STATE      state dir, WIPED at start (default ${TMPDIR:-/tmp}/atcr-radosgw); or $1
#   RADOSGW_PORT       S3 port (default: a free port)   RADOSGW_MON_PORT (default: a free port)
#   RADOSGW_MEMSTORE_BYTES  RAM the OSD may use for object data (default 1 GiB)
#   RADOSGW_START_TIMEOUT   seconds to wait for each daemon (default 60)
#   S3_ACCESS_KEY / S3_SECRET_KEY / S3_BUCKET  (defaults ATCRACCESSKEY / atcrsecretkey / atcr-test)
#
# On success prints eval-able assignments on stdout and writes them to $STATE/radosgw.env:
#   S3_ENDPOINT=http://127.0.0.1:P S3_ACCESS_KEY=.. S3_SECRET_KEY=.. S3_REGION=us-east-1
#   S3_BUCKET=.. RADOSGW_STATE=.. RADOSGW_START_SECONDS=..
# The daemons write pid files under $STATE/run; stop them with stop-radosgw.sh $STATE.
set -euo pipefail

STATE=${1:-${RADOSGW_STATE:-${TMPDIR:-/tmp}/atcr-radosgw}}
MEM_BYTES=${RADOSGW_MEMSTORE_BYTES:-$((1024 * 1024 * 1024))}
timeout_s=${RADOSGW_START_TIMEOUT:-60}
ACCESS=${S3_ACCESS_KEY:-ATCRACCESSKEY}
SECRET=${S3_SECRET_KEY:-atcrsecretkey}
BUCKET=${S3_BUCKET:-atcr-test}
REGION=us-east-1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() {
  echo "start-radosgw: $*" >&2
  for f in "$STATE"/log/*.log; do
    [ -f "$f" ] && { echo "--- tail $f" >&2; tail -15 "$f" >&2; }
  done
  "$here/stop-radosgw.sh" "$STATE" >/dev/null 2>&1 || true
  exit 1
}

for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl; do
  command -v "$bin" >/dev/null 2>&1 ||
    { echo "start-radosgw: '$bin' not found (run scripts/bootstrap: radosgw ceph-mon ceph-osd)" >&2; exit 1; }
done

case "$STATE" in
  "" | / | /tmp | /tmp/ | "$HOME" | "$HOME/" | /work | /work/) echo "start-radosgw: refusing STATE='$STATE'" >&2; exit 1;;
esac
STATE=$(realpath -m "$STATE")

# A previous instance on this state dir is stopped first.
[ -d "$STATE/run" ] && "$here/stop-radosgw.sh" "$STATE" >/dev/null 2>&1 || true

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
MON_PORT=${RADOSGW_MON_PORT:-$(free_port)}
RGW_PORT=${RADOSGW_PORT:-$(free_port)}
while [ "$RGW_PORT" = "$MON_PORT" ]; do RGW_PORT=$(free_port); done
port_busy "$MON_PORT" && { echo "start-radosgw: port $MON_PORT (mon) is in use" >&2; exit 1; }
port_busy "$RGW_PORT" && { echo "start-radosgw: port $RGW_PORT (rgw) is in use" >&2; exit 1; }

t0=$(date +%s.%N)
rm -rf "$STATE"
mkdir -p "$STATE"/{run,log,mon/a,osd/0,rgw}
chmod 700 "$STATE"
conf=$STATE/ceph.conf
fsid=$(cat /proc/sys/kernel/random/uuid)

cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$MON_PORT
mon initial members = a
public network = 127.0.0.0/8
ms bind msgr2 = false
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = $STATE/run
pid file = $STATE/run/\$name.pid
admin socket = $STATE/run/\$name.asok
log file = $STATE/log/\$name.log
log to stderr = false
err to stderr = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon data avail crit = 0
mon data avail warn = 0
osd crush chooseleaf type = 0
[mon.a]
mon data = $STATE/mon/a
keyring = $STATE/mon.keyring
[osd.0]
osd data = $STATE/osd/0
osd objectstore = memstore
memstore device bytes = $MEM_BYTES
keyring = $STATE/osd/0/keyring
[client.admin]
keyring = $STATE/admin.keyring
[client.rgw.a]
keyring = $STATE/rgw/keyring
rgw data = $STATE/rgw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw enable usage log = false
rgw thread pool size = 64
EOF

ceph=(ceph -c "$conf" --connect-timeout 20)
quiet() { "$@" >>"$STATE/log/setup.log" 2>&1 || die "failed: $*"; }

# 1. mon
quiet ceph-authtool --create-keyring "$STATE/mon.keyring" --gen-key -n mon. --cap mon 'allow *'
quiet ceph-authtool --create-keyring "$STATE/admin.keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *'
quiet ceph-authtool "$STATE/mon.keyring" --import-keyring "$STATE/admin.keyring"
quiet monmaptool --create --addv a "[v1:127.0.0.1:$MON_PORT]" --fsid "$fsid" "$STATE/monmap"
quiet ceph-mon -c "$conf" --mkfs -i a --monmap "$STATE/monmap" --keyring "$STATE/mon.keyring"
quiet ceph-mon -c "$conf" -i a
quiet "${ceph[@]}" -s

# 2. osd (memstore: object data lives in the OSD's RAM, capped by memstore device bytes)
osd_id=$("${ceph[@]}" osd create 2>>"$STATE/log/setup.log") || die "ceph osd create failed"
[ "$osd_id" = 0 ] || die "expected osd id 0, got '$osd_id'"
quiet ceph-osd -c "$conf" -i 0 --no-mon-config --mkfs --mkkey
quiet "${ceph[@]}" auth add osd.0 osd 'allow *' mon 'allow profile osd' -i "$STATE/osd/0/keyring"
quiet "${ceph[@]}" osd crush add osd.0 1.0 root=default host=localhost
quiet ceph-osd -c "$conf" -i 0
for ((i = 0; ; i++)); do
  "${ceph[@]}" osd dump 2>/dev/null | grep -q '^osd.0 up' && break
  ((i < timeout_s * 5)) || die "osd.0 did not come up within ${timeout_s}s"
  sleep 0.2
done

# 3. radosgw (creates its pools on first start)
quiet "${ceph[@]}" auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' -o "$STATE/rgw/keyring"
quiet radosgw -c "$conf" -n client.rgw.a
for ((i = 0; ; i++)); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RGW_PORT/" 2>/dev/null) || true
  [ "$code" = 200 ] && break
  ((i < timeout_s * 5)) || die "radosgw did not answer on 127.0.0.1:$RGW_PORT within ${timeout_s}s"
  sleep 0.2
done

# 4. S3 user and bucket
quiet radosgw-admin -c "$conf" -n client.admin user create --uid=atcr --display-name=atcr \
  --access-key="$ACCESS" --secret-key="$SECRET"
code=$(curl -s -o "$STATE/log/create-bucket.out" -w '%{http_code}' -X PUT \
  --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS:$SECRET" \
  -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
  "http://127.0.0.1:$RGW_PORT/$BUCKET") || true
[ "$code" = 200 ] || die "create bucket $BUCKET: HTTP $code $(cat "$STATE/log/create-bucket.out")"

secs=$(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || python3 -c "print(round($(date +%s.%N) - $t0, 1))")
{
  echo "S3_ENDPOINT=http://127.0.0.1:$RGW_PORT"
  echo "S3_ACCESS_KEY=$ACCESS"
  echo "S3_SECRET_KEY=$SECRET"
  echo "S3_REGION=$REGION"
  echo "S3_BUCKET=$BUCKET"
  echo "RADOSGW_STATE=$STATE"
  printf 'RADOSGW_START_SECONDS=%.1f\n' "$secs"
} | tee "$STATE/radosgw.env"
