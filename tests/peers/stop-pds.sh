#!/usr/bin/env bash
# Stops the PLC and PDS started by start-pds.sh, by the PIDs in the state dir.
#   PDS_STATE  state dir (default ${TMPDIR:-/tmp}/atcr-peers-${PDS_PORT:-2583}); or pass it as $1.
# SIGTERM, then SIGKILL after 5 s. A PID is only signalled if it is still one of our launchers
# (its command line names plc.cjs / pds.mjs), so a recycled PID is never hit.
# Exit 0 when nothing is left running (also when nothing was running).
set -uo pipefail

PDS_STATE=${1:-${PDS_STATE:-${TMPDIR:-/tmp}/atcr-peers-${PDS_PORT:-2583}}}

ours() { # pid script-name
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"
}

pids=()
for pair in plc:plc.cjs pds:pds.mjs; do
  name=${pair%%:*} script=${pair#*:}
  f="$PDS_STATE/$name.pid"
  [ -f "$f" ] || continue
  pid=$(tr -dc 0-9 <"$f")
  if [ -n "$pid" ] && ours "$pid" "$script"; then
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid:$script")
  fi
  rm -f "$f"
done

for ((i = 0; i < 50 && ${#pids[@]} > 0; i++)); do
  left=()
  for e in "${pids[@]}"; do ours "${e%%:*}" "${e#*:}" && left+=("$e"); done
  pids=("${left[@]+"${left[@]}"}")
  ((${#pids[@]})) && sleep 0.1
done
for e in "${pids[@]+"${pids[@]}"}"; do
  echo "stop-pds: pid ${e%%:*} (${e#*:}) ignored SIGTERM; sending SIGKILL" >&2
  kill -KILL "${e%%:*}" 2>/dev/null || true
done
exit 0
