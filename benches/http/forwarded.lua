-- wrk script: every request comes from one of 65,536 clients (X-Forwarded-For 10.0.x.y, read
-- with TRUST_PROXY=true), so at 100 requests per client per minute nearly all are admitted and
-- each one runs the limiter's whole admitting path.
math.randomseed(7)
request = function()
  local ip = string.format("10.0.%d.%d", math.random(0, 255), math.random(0, 255))
  return wrk.format("GET", "/chats", { ["X-Forwarded-For"] = ip })
end
