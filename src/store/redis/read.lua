-- Read: the holder, in acquire's reply shape, or nil when nobody holds a live lease.
-- KEYS: lease.
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
return {0, h[1], h[2] or '', h[3] or '', h[4] or '', h[5] or '', left}
