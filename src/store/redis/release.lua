-- Release: end our own lease (compare-and-expire), then wake the waiting candidates. The key
-- stays, expired, so that a missing key always means the store lost it (see acquire.lua).
-- KEYS: lease. ARGV: candidate id, token ('*': whichever grant of this candidate, for a close
-- that abandoned an acquire whose answer it never saw), publish command, channel.
-- Reply: 1 released, 0 it was not ours.
local h = redis.call('HMGET', KEYS[1], 'candidate', 'token')
if h[1] == ARGV[1] and (ARGV[2] == '*' or h[2] == ARGV[2]) then
  redis.call('HSET', KEYS[1], 'expires', '0')
  redis.call(ARGV[3], ARGV[4], ARGV[1])
  return 1
end
return 0
