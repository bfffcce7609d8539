#!/usr/bin/env bash
# Throughput and server CPU time per request of the release binary under wrk, with metrics and
# the access log on and off (BENCHMARKS.md, "Metrics and access log").
#
#   cargo build --release && benches/http/observability.sh [rounds] [seconds]
#
# The server runs on core 1, wrk on core 0. Each configuration is measured `rounds` times, the
# configurations interleaved, so a change in the machine's load hits all of them alike.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
SECS=${2:-10}
PORT=${PORT:-3197}
BIN=target/release/chatgate
LOG=$(mktemp)
trap 'rm -f "$LOG"; [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true' EXIT

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

start() { # metrics access_log
  METRICS=$1 ACCESS_LOG=$2 LOG_FORMAT=json RATE_LIMIT_PER_MINUTE=0 PORT=$PORT HOST=127.0.0.1 \
    taskset -c 1 "$BIN" >"$LOG" 2>&1 &
  PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}

stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }

# One measurement: prints requests/s and µs of server CPU per request.
measure() { # name url [lua script]
  local before after out requests
  before=$(cpu_ticks "$PID")
  if [ -n "${3:-}" ]; then
    out=$(taskset -c 0 wrk -t1 -c32 -d"${SECS}s" -s "$3" "$2")
  else
    out=$(taskset -c 0 wrk -t1 -c32 -d"${SECS}s" "$2")
  fi
  after=$(cpu_ticks "$PID")
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; exit 1; fi
  awk -v n="$1" -v r="$requests" -v s="$SECS" -v c=$((after - before)) -v t="$TICK" \
    'BEGIN { printf "%s %.0f %.2f\n", n, r / s, c / t / r * 1e6 }'
}

GRAPHQL_LUA=$(mktemp --suffix=.lua)
cat >"$GRAPHQL_LUA" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"query ChatPage($l: Int) { chats(limit: $l) { total chats { id title priority } } }","variables":{"l":10}}'
LUA

echo "uptime before: $(uptime)"
for round in $(seq "$ROUNDS"); do
  for config in "false false" "true false" "false true" "true true"; do
    set -- $config
    start "$1" "$2"
    for i in $(seq 20); do
      curl -sf "http://127.0.0.1:$PORT/chats" -H 'content-type: application/json' \
        -d "{\"title\":\"chat $i\"}" >/dev/null
    done
    id=$(curl -sf "http://127.0.0.1:$PORT/chats?limit=1" | sed 's/.*"id":"\([^"]*\)".*/\1/')
    label="metrics=$1 access_log=$2"
    measure "rest  $label round=$round" "http://127.0.0.1:$PORT/chats/$id"
    measure "graphql $label round=$round" "http://127.0.0.1:$PORT/graphql" "$GRAPHQL_LUA"
    stop
  done
done
echo "uptime after: $(uptime)"
rm -f "$GRAPHQL_LUA"
