-- The requests of one load scenario, for wrk (benches/http/load.sh sets the environment):
--   SCENARIO   which request (the names below)
--   IDS_DIR    the folder with chat_ids.txt and conversation_ids.txt (written by the seeder)
-- Scenarios that need an id draw one at random from the 10,000 seeded chats (or the 1,000
-- seeded conversations) for every request; the others send one fixed request.
-- done() prints one line, "RESULT <requests> <duration µs> <p50 µs> <p99 µs> <bad statuses>
-- <socket errors>", that load.sh reads.

local scenario = os.getenv("SCENARIO") or "rest-get"
local ids_dir = os.getenv("IDS_DIR") or "."
local json = { ["Content-Type"] = "application/json" }

local function read_ids(name)
  local ids = {}
  local file = io.open(ids_dir .. "/" .. name, "r")
  if file == nil then
    error("cannot read " .. ids_dir .. "/" .. name)
  end
  for line in file:lines() do
    if line ~= "" then
      ids[#ids + 1] = line
    end
  end
  file:close()
  return ids
end

local function pick(ids)
  return ids[math.random(#ids)]
end

local chat_by_variable = '{"query":"query ($id: ID!) { chat(id: $id) { id title } }","variables":{"id":"%s"}}'
local chat_by_literal = '{"query":"{ chat(id: \\"%s\\") { id title } }"}'
local chats_page = '{"query":"{ chats(limit: 20) { total chats { id title } } }"}'
local new_chat = '{"title":"Load test chat","priority":"high","userId":"load"}'
local new_message = '{"content":"hello there"}'

-- Fixed requests: wrk sends them without calling Lua per request.
local fixed = {
  ["baseline-get"] = { "GET", "/chats/0b7ab1a2-3c4d-4e5f-8a9b-0c1d2e3f4a5b", nil },
  ["baseline-post"] = { "POST", "/graphql", chats_page },
  ["rest-list"] = { "GET", "/chats?priority=high&limit=20", nil },
  ["rest-create"] = { "POST", "/chats", new_chat },
  ["gql-chats"] = { "POST", "/graphql", chats_page },
}

-- Requests with an id drawn for each one.
local chats_ids, conversation_ids
local drawn = {
  ["rest-get"] = function()
    return wrk.format("GET", "/chats/" .. pick(chats_ids))
  end,
  ["rest-toggle"] = function()
    return wrk.format("POST", "/chats/" .. pick(chats_ids) .. "/toggle")
  end,
  ["rest-messages"] = function()
    return wrk.format("GET", "/api/conversations/" .. pick(conversation_ids) .. "/messages?limit=20")
  end,
  ["rest-post-message"] = function()
    return wrk.format("POST", "/api/conversations/" .. pick(conversation_ids) .. "/messages", json, new_message)
  end,
  ["gql-chat-var"] = function()
    return wrk.format("POST", "/graphql", json, string.format(chat_by_variable, pick(chats_ids)))
  end,
  ["gql-chat-literal"] = function()
    return wrk.format("POST", "/graphql", json, string.format(chat_by_literal, pick(chats_ids)))
  end,
}

if fixed[scenario] then
  local method, path, body = unpack(fixed[scenario])
  wrk.method = method
  wrk.path = path
  wrk.body = body
  if body then
    wrk.headers["Content-Type"] = "application/json"
  end
elseif drawn[scenario] then
  chats_ids = read_ids("chat_ids.txt")
  conversation_ids = read_ids("conversation_ids.txt")
  local make = drawn[scenario]
  function init(args)
    math.randomseed(os.time())
  end
  function request()
    return make()
  end
else
  error("unknown SCENARIO " .. scenario)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
