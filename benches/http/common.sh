# Shared by the HTTP benchmark scripts (sourced, not run): installing a Debian tool when
# missing, stopping what a script started when it exits, and waiting for a port to answer.

# Every scenario, in the order a run without arguments measures them (benches/http/load.lua
# says what each sends).
ALL_SCENARIOS=(baseline-get baseline-post rest-get rest-list rest-create rest-toggle rest-messages
  rest-post-message gql-chat-var gql-chats gql-chat-literal)

# Installs each named Debian package whose command is missing.
install_missing() {
  local tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null; then
      echo "installing $tool (Debian package)" >&2
      apt-get install -y "$tool" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "$tool" >/dev/null; }
    fi
  done
}

# Processes to stop on exit: add each background pid to PIDS.
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# Waits until http://127.0.0.1:<port>/<path> answers, for at most <tenths> tenths of a second
# (default 100); exits the script if it never does.
wait_port() {
  for _ in $(seq "${3:-100}"); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/$2" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing answers on port $1" >&2
  exit 1
}
