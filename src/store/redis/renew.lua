-- Renew: extend the lease only if it is still ours under the same token and not expired.
-- KEYS: lease. ARGV: candidate id, token, ttl ms.
-- Reply: 1 renewed, 0 lost, 2 renewed and someone asked the holder to hand over.
local h = redis.call('HMGET', KEYS[1], 'candidate', 'token', 'expires', 'resign')
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if h[1] == ARGV[1] and h[2] == ARGV[2] and (tonumber(h[3]) or 0) > now_ms then
  redis.call('HSET', KEYS[1], 'expires', string.format('%d', now_ms + tonumber(ARGV[3])))
  if h[4] then
    return 2
  end
  return 1
end
return 0
