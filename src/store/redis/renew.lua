-- Renew: extend the lease only if it is still ours under the same token.
-- KEYS: lease. ARGV: candidate id, token, ttl ms. Reply: 1 renewed, 0 lost.
local h = redis.call('HMGET', KEYS[1], 'candidate', 'token')
if h[1] == ARGV[1] and h[2] == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
