-- One request against a client's sliding window. Redis runs a script alone, so requests from
-- any number of instances never interleave between the count and the write.
-- KEYS[1]: the client's log, a sorted set of its admission times (Unix ms).
-- KEYS[2]: the index of clients, each scored by its latest admission.
-- ARGV: the limit, the window (ms), the most clients tracked, a name no other admission has,
-- the client's name in the index, and optionally "now" (Unix ms); without it Redis's own clock
-- counts, one clock for every instance.
-- Returns {1 if admitted else 0, requests in the window, Unix ms at which the window frees a
-- place, now}.
local log, index = KEYS[1], KEYS[2]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local most_clients = tonumber(ARGV[3])
local now = tonumber(ARGV[6])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
-- A time t stays in the window while t + window > now.
redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', index, '-inf', now - window)
local count = redis.call('ZCARD', log)
if count == 0 and redis.call('ZCARD', index) >= most_clients then
  -- Every tracked client is inside its window: a new one waits for the first to leave.
  local first = redis.call('ZRANGE', index, 0, 0, 'WITHSCORES')
  return {0, 0, tonumber(first[2]) + window, now}
end
local admitted = 0
if count < limit then
  redis.call('ZADD', log, now, ARGV[4])
  redis.call('ZADD', index, now, ARGV[5])
  redis.call('PEXPIRE', log, window)
  redis.call('PEXPIRE', index, window)
  count = count + 1
  admitted = 1
end
local oldest = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')
return {admitted, count, tonumber(oldest[2]) + window, now}
