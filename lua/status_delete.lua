-- Delete the status of one pair, atomically, and tell every instance.
-- KEYS[1] status hash   KEYS[2] line index   KEYS[3] line event sequence
-- KEYS[4] cache generation of the line's connector-info directory  KEYS[5] line ready set
-- ARGV[1] connector id  ARGV[2] line id  ARGV[3] now (unix ms)  ARGV[4] event channel
-- Returns {deleted (0/1), sequence}
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then
  redis.call('SREM', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[5], ARGV[1])
  return {0, 0}
end
if t ~= 'hash' then
  return redis.error_reply('WRONGTYPE status key ' .. KEYS[1] .. ' holds a ' .. t)
end
local version = tonumber(redis.call('HGET', KEYS[1], 'VERSION') or '0')
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
local seq = redis.call('INCR', KEYS[3])
redis.call('INCR', KEYS[4])
redis.call('PUBLISH', ARGV[4], cjson.encode({
  type = 'deleted', connector = ARGV[1], line = tonumber(ARGV[2]),
  version = version, seq = seq, changed = '', ts = tonumber(ARGV[3])
}))
return {1, seq}
