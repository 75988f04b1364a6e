-- Write one line-cache entry under the directory's current generation, unless a clean happened
-- since the writer read it (no stale resurrection).
-- KEYS[1]  generation   KEYS[2]  entry
-- ARGV[1]  the generation the writer read before computing ('' = whatever is current)
-- ARGV[2]  payload      ARGV[3]  time to live, milliseconds
-- Returns {stored (1/0), current generation}
local t = redis.call('TYPE', KEYS[2]).ok
if t ~= 'string' and t ~= 'none' then
  -- Never overwrite someone else's key of another type.
  return redis.error_reply('WRONGTYPE cache entry ' .. KEYS[2] .. ' holds a ' .. t)
end
local gen = redis.call('GET', KEYS[1])
if not gen then
  -- Materialise generation 0 so that a clean across all lines (SCAN of generation keys)
  -- finds this directory on this line.
  redis.call('SET', KEYS[1], '0')
  gen = '0'
end
if ARGV[1] ~= '' and ARGV[1] ~= gen then
  return {0, gen}
end
redis.call('SET', KEYS[2], gen .. ':' .. ARGV[2], 'PX', ARGV[3])
return {1, gen}
