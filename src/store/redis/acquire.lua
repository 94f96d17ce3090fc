-- Acquire: take the lease if it is free or a leftover of this same candidate; else report the holder.
-- KEYS: lease, token counter. ARGV: candidate id, host, pid, ttl ms.
-- Reply: {granted 0/1, candidate, host, pid, token, since ms, lease ms left}.
local lease, counter = KEYS[1], KEYS[2]
local h = redis.call('HMGET', lease, 'candidate', 'host', 'pid', 'token', 'since')
if h[1] and h[1] ~= ARGV[1] then
  return {0, h[1], h[2] or '', h[3] or '0', h[4] or '0', h[5] or '0', redis.call('PTTL', lease)}
end
-- The token is at least the store's clock in microseconds, so it keeps increasing even when
-- the counter was lost (restart without persistence, failover to a replica that missed it).
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', counter) or '0') or 0
local token = string.format('%d', math.max(last + 1, now_us))
local since = string.format('%d', math.floor(now_us / 1000))
redis.call('SET', counter, token)
redis.call('DEL', lease)
redis.call('HSET', lease, 'candidate', ARGV[1], 'host', ARGV[2], 'pid', ARGV[3], 'token', token, 'since', since)
redis.call('PEXPIRE', lease, ARGV[4])
return {1, ARGV[1], ARGV[2], ARGV[3], token, since, tonumber(ARGV[4])}
