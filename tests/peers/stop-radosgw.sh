#!/usr/bin/env bash
# Stops the radosgw, OSD and mon started by start-radosgw.sh, by the pid files in the state dir.
#   usage: stop-radosgw.sh [STATE_DIR]   (default $RADOSGW_STATE or ${TMPDIR:-/tmp}/atcr-radosgw)
# SIGTERM, then SIGKILL after 2 s (all state is throwaway: the OSD keeps objects in RAM, and
# radosgw's graceful shutdown alone can take longer than that). A PID is only signalled if its
# command line still names the daemon and this state dir's ceph.conf, so a recycled PID is
# never hit. The state dir is kept (logs); RADOSGW_KEEP_STATE=0 removes it. Exit 0 when
# nothing is left running.
set -uo pipefail

STATE=${1:-${RADOSGW_STATE:-${TMPDIR:-/tmp}/atcr-radosgw}}
STATE=$(realpath -m "$STATE")

ours() { # pid daemon
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2 .*$STATE/ceph.conf"
}

# rgw first, then the OSD, then the mon (the others talk to the mon while shutting down).
pids=()
for pair in client.rgw.a:radosgw osd.0:ceph-osd mon.a:ceph-mon; do
  name=${pair%%:*} daemon=${pair#*:}
  f="$STATE/run/$name.pid"
  [ -f "$f" ] || continue
  pid=$(tr -dc 0-9 <"$f")
  if [ -n "$pid" ] && ours "$pid" "$daemon"; then
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid:$daemon")
  fi
  rm -f "$f"
done

for ((i = 0; i < 20 && ${#pids[@]} > 0; i++)); do
  left=()
  for e in "${pids[@]}"; do ours "${e%%:*}" "${e#*:}" && left+=("$e"); done
  pids=("${left[@]+"${left[@]}"}")
  ((${#pids[@]})) && sleep 0.1
done
for e in "${pids[@]+"${pids[@]}"}"; do
  kill -KILL "${e%%:*}" 2>/dev/null || true
done
if [ "${RADOSGW_KEEP_STATE:-1}" = 0 ] && [ -f "$STATE/ceph.conf" ]; then rm -rf "$STATE"; fi
exit 0
