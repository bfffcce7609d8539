#!/usr/bin/env bash
# What the rate limit costs per request: the release server on core 1 under wrk on core 0,
# `GET /chats` from 65,536 clients (forwarded.lua), with limiting off (the baseline), counted
# in the instance's memory, and counted in Redis. Prints requests per second and the CPU time
# per request of the server and of Redis (from /proc/<pid>/stat, over the measured run only).
#
#   cargo build --release --bin chatgate
#   benches/http/rate_limit.sh [seconds per run, default 15] [rounds, default 1]
#
# Redis is a throwaway `redis-server` on port 6390, pinned to core 0 with wrk (it is not on the
# server's core, as it would not be in production).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-15}"
rounds="${2:-1}"
port=8170
redis_port=6390
bin=target/release/chatgate
ticks="$(getconf CLK_TCK)"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

taskset -c 0 redis-server --port "$redis_port" --save "" --appendonly no --daemonize yes \
  --pidfile "/tmp/chatgate-bench-redis.pid" >/dev/null
sleep 0.5
redis_pid="$(cat /tmp/chatgate-bench-redis.pid)"
trap 'redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true' EXIT

run() {
  local name="$1"; shift
  env "$@" TRUST_PROXY=true taskset -c 1 "$bin" --host 127.0.0.1 --port "$port" >/dev/null 2>&1 &
  local server=$!
  for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  taskset -c 0 wrk -t1 -c32 -d3s -s benches/http/forwarded.lua "http://127.0.0.1:$port" >/dev/null
  redis-cli -p "$redis_port" flushall >/dev/null
  local s0 r0 s1 r1 out
  s0="$(cpu_ticks "$server")"; r0="$(cpu_ticks "$redis_pid")"
  out="$(taskset -c 0 wrk -t1 -c32 -d"${secs}s" -s benches/http/forwarded.lua "http://127.0.0.1:$port")"
  s1="$(cpu_ticks "$server")"; r1="$(cpu_ticks "$redis_pid")"
  kill "$server"; wait "$server" 2>/dev/null || true
  local requests rps non2xx
  requests="$(awk '/requests in/ {print $1}' <<<"$out")"
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  awk -v n="$name" -v req="$requests" -v rps="$rps" -v bad="${non2xx:-0}" \
      -v s="$((s1 - s0))" -v r="$((r1 - r0))" -v hz="$ticks" 'BEGIN {
    printf "| %s | %d | %.0f | %d | %.1f | %.1f |\n", n, req, rps, bad,
      s / hz * 1e6 / req, r / hz * 1e6 / req }'
}

echo "uptime before: $(uptime)"
echo "| limiter | requests | requests/s | non-2xx | server CPU µs/request | Redis CPU µs/request |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for _ in $(seq 1 "$rounds"); do
  run "off (baseline)" RATE_LIMIT_PER_MINUTE=0
  run "local" RATE_LIMIT_PER_MINUTE=100
  run "Redis" RATE_LIMIT_PER_MINUTE=100 RATE_LIMIT_REDIS_URL="redis://127.0.0.1:$redis_port"
done
echo "uptime after: $(uptime)"
