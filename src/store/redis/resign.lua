-- Resign request: mark the live lease so that its holder's next renewal reports it, then wake
-- the holder (and the followers, who find the lease still held). Never deletes a lease.
-- KEYS: lease. ARGV: publish command (PUBLISH or SPUBLISH), channel.
-- Reply: the holder asked, in acquire's reply shape, or nil when nobody holds a live lease.
local h = redis.call('HMGET', KEYS[1], 'candidate', 'host', 'pid', 'token', 'since', 'expires')
if not h[1] then
  return false
end
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local left = (tonumber(h[6]) or 0) - now_ms
if left <= 0 then
  return false
end
redis.call('HSET', KEYS[1], 'resign', '1')
redis.call(ARGV[1], ARGV[2], 'resign')
return {0, h[1], h[2] or '', h[3] or '', h[4] or '', h[5] or '', left}
