#!/usr/bin/env bash
# Instructions per request (BENCHMARKS.md, "Requests over HTTP"): the same scenarios as
# load.sh, counted by valgrind's callgrind instead of timed. An instruction count does not
# depend on what else the machine runs, so two builds compare exactly, run after run.
#
#   benches/http/callgrind.sh                          # every scenario
#   benches/http/callgrind.sh gql-chat-var rest-get    # some
#   CHATGATE=/tmp/old/chatgate benches/http/callgrind.sh rest-get   # another build
#
# It builds the release binaries, starts chatgate and the bare axum baseline under
# `valgrind --tool=callgrind` with instrumentation off, seeds chatgate as load.sh does
# (10,000 chats, 1,000 conversations of 20 messages), and for each scenario: a warm-up with
# instrumentation off, then instrumentation on for REQUESTS_SECONDS of wrk (4 connections),
# off again, and a dump. The count covers every thread of the server (runtime workers, the
# log writer, timers) divided by the requests wrk saw answered. The dumps stay in OUT for
# `callgrind_annotate`.
#
# Environment: SECONDS_PER_SCENARIO (default 3), OUT (default a fresh temporary folder),
# CHATGATE (the server binary), PORT / BASELINE_PORT (default 8181 / 8182).
set -euo pipefail

cd "$(dirname "$0")/../.."
SECONDS_PER_SCENARIO=${SECONDS_PER_SCENARIO:-3}
PORT=${PORT:-8181}
BASELINE_PORT=${BASELINE_PORT:-8182}
OUT=${OUT:-$(mktemp -d /tmp/chatgate-callgrind.XXXXXX)}
CHATGATE=${CHATGATE:-target/release/chatgate}

source benches/http/common.sh
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -eq 0 ] && SCENARIOS=("${ALL_SCENARIOS[@]}")
install_missing wrk valgrind

cargo build --release --quiet --bin chatgate --example load
mkdir -p "$OUT"


under_callgrind() {
  local name=$1
  shift
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/$name.%p" "$@" \
    >/dev/null 2>"$OUT/$name.err" &
  PIDS+=("$!")
}

under_callgrind chatgate "$CHATGATE" --host 127.0.0.1 --port "$PORT" --rate-limit 0
CHATGATE_PID=${PIDS[-1]}
under_callgrind baseline target/release/examples/load baseline "$BASELINE_PORT"
BASELINE_PID=${PIDS[-1]}
wait_port "$PORT" health 600
wait_port "$BASELINE_PORT" "" 600
target/release/examples/load seed "http://127.0.0.1:$PORT" "$OUT" >&2

# Under valgrind a request can take well over wrk's default 2 s timeout when the machine is
# busy (valgrind runs the server's threads one at a time): wait for it rather than count it
# as a socket error.
drive() {
  SCENARIO=$1 IDS_DIR=$OUT wrk -t1 -c4 -d"$2s" --timeout 30s -s benches/http/load.lua "http://127.0.0.1:$3"
}

echo "| scenario | requests counted | instructions per request | share of baseline |"
echo "| --- | ---: | ---: | ---: |"
declare -A BASE
for scenario in "${SCENARIOS[@]}"; do
  case $scenario in
    baseline-*) port=$BASELINE_PORT pid=$BASELINE_PID ;;
    *) port=$PORT pid=$CHATGATE_PID ;;
  esac
  drive "$scenario" 1 "$port" >/dev/null
  # callgrind_control reports each command on stderr; only its failure matters.
  callgrind_control -z "$pid" >/dev/null 2>&1
  callgrind_control -i on "$pid" >/dev/null 2>&1
  line=$(drive "$scenario" "$SECONDS_PER_SCENARIO" "$port" | grep '^RESULT')
  callgrind_control -i off "$pid" >/dev/null 2>&1
  callgrind_control -d "$scenario" "$pid" >/dev/null 2>&1
  read -r _ requests _ _ _ bad sockets <<<"$line"
  if [ "$bad" -ne 0 ] || [ "$sockets" -ne 0 ]; then
    echo "$scenario: $bad answers with an error status, $sockets socket errors" >&2
    exit 1
  fi
  # The dump this scenario asked for names it as its trigger. Its `summary:` line is zeroed
  # by `-z`; `totals:` holds what was counted since.
  dump=$(grep -l -x "desc: Trigger: dump $scenario" "$OUT"/*".$pid".*)
  total=$(awk '/^totals:/ { print $2; exit }' "$dump")
  if [ -z "$total" ] || [ "$total" -eq 0 ] || [ "$requests" -eq 0 ]; then
    echo "$scenario: nothing counted ($total instructions, $requests requests; see $dump)" >&2
    exit 1
  fi
  per=$((total / requests))
  case $scenario in
    baseline-get) BASE[get]=$per ;;
    baseline-post) BASE[post]=$per ;;
  esac
  case $scenario in
    rest-get | rest-list | rest-messages | baseline-get) base=${BASE[get]:-} ;;
    *) base=${BASE[post]:-} ;;
  esac
  share=$([ -n "$base" ] && awk -v a="$per" -v b="$base" 'BEGIN { printf "%.0f%%", 100 * b / a }' || echo "n/a")
  echo "| $scenario | $requests | $per | $share |"
done
echo
echo "(dumps for callgrind_annotate: $OUT)"
