-- Read: the holder, in acquire's reply shape, or nil when nobody holds the lease.
-- KEYS: lease.
local h = redis.call('HMGET', KEYS[1], 'candidate', 'host', 'pid', 'token', 'since')
if not h[1] then
  return false
end
return {0, h[1], h[2] or '', h[3] or '0', h[4] or '0', h[5] or '0', redis.call('PTTL', KEYS[1])}
