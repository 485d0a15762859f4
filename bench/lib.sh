# Helpers shared by the benchmark harnesses (bench/run, bench/hold/run.sh, bench/appview/run.sh).
# Source it after defining die(); nothing here starts or measures anything.

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

free_port_block() { # free_port_block N: the first of N consecutive free loopback ports
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

wait_url() { # wait_url URL PID: until URL answers 200 (30 s), failing when PID exits first
  local i code
  for ((i = 0; i < 300; i++)); do
    kill -0 "$2" 2>/dev/null || die "server pid $2 exited before $1 answered"
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" || true)
    [ "$code" = 200 ] && return 0
    sleep 0.1
  done
  die "$1 did not answer 200 within 30s"
}

# The median of the numbers on stdin (one per line); "nan" for none.
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
now() { date +%s.%N; }
mibps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.0f\n", b / 1048576 / s}'; } # mibps BYTES SECONDS
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }     # json 'd["key"]' <file
