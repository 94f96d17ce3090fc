-- Acquire: take the lease if it is free, expired, or a leftover of this same candidate; else
-- report the holder.
-- KEYS: lease, token counter. ARGV: candidate id, host, pid, ttl ms, wary ('1': grant nothing
-- when the lease key is missing).
-- Reply: {granted 0/1, candidate, host, pid, token, since ms, lease ms left}, or {2} when wary
-- and the key is missing: releases and expiry leave the key, so the store lost it.
-- The lease's expiry lives in its value ('expires', store ms) and the key has no TTL, so no
-- volatile-* eviction policy can delete it: only expiry or a release ends a lease.
local lease, counter = KEYS[1], KEYS[2]
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now_ms = math.floor(now_us / 1000)
local h = redis.call('HMGET', lease, 'candidate', 'host', 'pid', 'token', 'since', 'expires')
if ARGV[5] == '1' and not h[1] then
  return {2, '', '', '', '', '', 0}
end
if h[1] and h[1] ~= ARGV[1] then
  local left = (tonumber(h[6]) or 0) - now_ms
  if left > 0 then
    return {0, h[1], h[2] or '', h[3] or '', h[4] or '', h[5] or '', left}
  end
end
-- The token is at least the store's clock in microseconds, so it keeps increasing even when
-- the counter was lost (restart without persistence, failover to a replica that missed it).
-- Lua numbers are exact below 2^53: refuse rather than repeat a token.
local last = tonumber(redis.call('GET', counter) or '0') or 0
if last >= 9007199254740991 then
  return redis.error_reply('ERR baton token counter ' .. counter .. ' reached 2^53; delete it (tokens restart from the store clock)')
end
local token = string.format('%d', math.max(last + 1, now_us))
local since = string.format('%d', now_ms)
local ttl = tonumber(ARGV[4])
redis.call('SET', counter, token)
redis.call('DEL', lease)
redis.call('HSET', lease, 'candidate', ARGV[1], 'host', ARGV[2], 'pid', ARGV[3], 'token', token,
  'since', since, 'expires', string.format('%d', now_ms + ttl))
return {1, ARGV[1], ARGV[2], ARGV[3], token, since, ttl}
