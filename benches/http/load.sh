#!/usr/bin/env bash
# The HTTP load benchmark (BENCHMARKS.md, "Requests over HTTP"): builds the release binaries,
# starts chatgate pinned to one core and a bare axum baseline pinned to the same core, seeds
# chatgate with 10,000 chats and 1,000 conversations of 20 messages, drives every scenario
# with wrk from the other core, and prints one Markdown table: requests per second, p50/p99
# latency, the server's CPU time per request (utime + stime from /proc/<pid>/stat, divided by
# the requests answered) and the requests per CPU-second as a share of the baseline's.
#
#   benches/http/load.sh                      # every scenario, 10 s each
#   DURATION=5 benches/http/load.sh gql-chats rest-get   # some scenarios, shorter
#   ACCESS_LOG=false benches/http/load.sh     # chatgate without its access log
#
# Environment: DURATION (seconds per scenario, default 10), CONNECTIONS (default 64),
# SERVER_CPU / CLIENT_CPU (default 1 / 0), PORT / BASELINE_PORT (default 8171 / 8172),
# OUT (where seeded ids and server output go, default a fresh temporary folder), CHATGATE (the
# server binary, default the release build; another build of chatgate to compare with).
# Logging stays at chatgate's default (info, every request logged) unless RUST_LOG says
# otherwise; its output goes to /dev/null. Rate limiting is off (`--rate-limit 0`): one client
# address sends every request.
set -euo pipefail

cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
PORT=${PORT:-8171}
BASELINE_PORT=${BASELINE_PORT:-8172}
OUT=${OUT:-$(mktemp -d /tmp/chatgate-load.XXXXXX)}
CHATGATE=${CHATGATE:-target/release/chatgate}

source benches/http/common.sh
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -eq 0 ] && SCENARIOS=("${ALL_SCENARIOS[@]}")
install_missing wrk

cargo build --release --quiet --bin chatgate --example load
mkdir -p "$OUT"


taskset -c "$SERVER_CPU" "$CHATGATE" --host 127.0.0.1 --port "$PORT" \
  --rate-limit 0 >/dev/null 2>"$OUT/chatgate.err" &
CHATGATE=$!
PIDS+=("$CHATGATE")
taskset -c "$SERVER_CPU" target/release/examples/load baseline "$BASELINE_PORT" \
  >/dev/null 2>"$OUT/baseline.err" &
BASELINE=$!
PIDS+=("$BASELINE")
wait_port "$PORT" health
wait_port "$BASELINE_PORT" ""
taskset -c "$CLIENT_CPU" target/release/examples/load seed "http://127.0.0.1:$PORT" "$OUT" >&2

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

# One request of the scenario by curl, to show it succeeds with the answer expected.
check() {
  local scenario=$1 port=$2 chat conversation
  chat=$(head -1 "$OUT/chat_ids.txt")
  conversation=$(head -1 "$OUT/conversation_ids.txt")
  local url="http://127.0.0.1:$port" json=(-H 'content-type: application/json')
  case $scenario in
    baseline-get) curl -fsS "$url/" ;;
    baseline-post) curl -fsS "${json[@]}" -d '{}' "$url/" ;;
    rest-get) curl -fsS "$url/chats/$chat" ;;
    rest-list) curl -fsS "$url/chats?priority=high&limit=20" ;;
    rest-create) curl -fsS "${json[@]}" -d '{"title":"check"}' "$url/chats" ;;
    rest-toggle) curl -fsS -X POST "$url/chats/$chat/toggle" ;;
    rest-messages) curl -fsS "$url/api/conversations/$conversation/messages?limit=20" ;;
    rest-post-message) curl -fsS "${json[@]}" -d '{"content":"hi"}' "$url/api/conversations/$conversation/messages" ;;
    gql-chat-var) curl -fsS "${json[@]}" "$url/graphql" \
      -d "{\"query\":\"query (\$id: ID!) { chat(id: \$id) { id title } }\",\"variables\":{\"id\":\"$chat\"}}" ;;
    gql-chats) curl -fsS "${json[@]}" "$url/graphql" -d '{"query":"{ chats(limit: 20) { total chats { id title } } }"}' ;;
    gql-chat-literal) curl -fsS "${json[@]}" "$url/graphql" -d "{\"query\":\"{ chat(id: \\\"$chat\\\") { id title } }\"}" ;;
  esac
}

# Runs one scenario against the server on $port with pid $pid; prints "rps p50 p99 µs/req".
measure() {
  local scenario=$1 port=$2 pid=$3 answer before after line
  answer=$(check "$scenario" "$port")
  if [[ $answer == *'"errors"'* || $answer != *'{'* ]]; then
    echo "$scenario: unexpected answer: $answer" >&2
    exit 1
  fi
  # A short warm-up, then the measured run.
  SCENARIO=$scenario IDS_DIR=$OUT taskset -c "$CLIENT_CPU" \
    wrk -t1 -c"$CONNECTIONS" -d2s -s benches/http/load.lua "http://127.0.0.1:$port" >/dev/null
  before=$(cpu_ticks "$pid")
  line=$(SCENARIO=$scenario IDS_DIR=$OUT taskset -c "$CLIENT_CPU" \
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s benches/http/load.lua "http://127.0.0.1:$port" |
    grep '^RESULT')
  after=$(cpu_ticks "$pid")
  read -r _ requests duration p50 p99 bad sockets <<<"$line"
  if [ "$bad" -ne 0 ] || [ "$sockets" -ne 0 ]; then
    echo "$scenario: $bad answers with an error status, $sockets socket errors" >&2
    exit 1
  fi
  awk -v r="$requests" -v d="$duration" -v p50="$p50" -v p99="$p99" \
    -v ticks="$((after - before))" -v hz="$TICK" 'BEGIN {
      cpu_us = ticks / hz * 1e6 / r
      printf "%.0f %.2f %.2f %.2f\n", r / (d / 1e6), p50 / 1000, p99 / 1000, cpu_us
    }'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| scenario | req/s | p50 ms | p99 ms | server CPU µs/request | requests per CPU-second | share of baseline |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
BASE_GET="" BASE_POST=""
for scenario in "${SCENARIOS[@]}"; do
  case $scenario in
    baseline-*) port=$BASELINE_PORT pid=$BASELINE ;;
    *) port=$PORT pid=$CHATGATE ;;
  esac
  result=$(measure "$scenario" "$port" "$pid") || exit 1
  read -r rps p50 p99 cpu <<<"$result"
  per_cpu=$(awk -v c="$cpu" 'BEGIN { printf "%.0f", 1e6 / c }')
  case $scenario in
    baseline-get) BASE_GET=$per_cpu ;;
    baseline-post) BASE_POST=$per_cpu ;;
  esac
  # GET scenarios compare with the GET baseline, the rest with the POST one.
  case $scenario in
    rest-get | rest-list | rest-messages | baseline-get) base=$BASE_GET ;;
    *) base=$BASE_POST ;;
  esac
  share=$([ -n "$base" ] && awk -v a="$per_cpu" -v b="$base" 'BEGIN { printf "%.0f%%", 100 * a / b }' || echo "n/a")
  echo "| $scenario | $rps | $p50 | $p99 | $cpu | $per_cpu | $share |"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(chatgate output: /dev/null; ids and stderr: $OUT)"
