-- Write one line-cache entry under the directory's current generation, unless a clean happened
-- since the writer read it (no stale resurrection), and note the entry in the generation's
-- index so that a clean of the line can free it.
-- KEYS[1]  generation   imc:{L<line>}:c:<dir>:gen
-- KEYS[2]  entry        imc:{L<line>}:c:<dir>:e:<key>
-- KEYS[3]  index        imc:{L<line>}:c:<dir>:i     (set of entry keys written since the last clean)
-- ARGV[1]  the generation the writer read before computing ('' = whatever is current)
-- ARGV[2]  payload      ARGV[3]  time to live, milliseconds
-- Returns {stored (1/0), current generation}
-- Every key is checked before anything is written. A generation that does not exist starts
-- from the server clock in microseconds, so it never takes a number it may have had before
-- (an evicted or deleted generation key cannot make old entries valid again).
-- A generation as INCR takes it: "0" or digits without a leading zero, at most 18 of them
-- (never negative: generations are created from the clock and only go up).
local function isGeneration(text)
  return #text <= 18 and (text == '0' or string.match(text, '^[1-9]%d*$') ~= nil)
end
local function refuse(key, what)
  return redis.error_reply('WRONGTYPE key ' .. key .. ' ' .. what .. '; nothing was changed')
end
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'string' and t ~= 'none' then return refuse(KEYS[1], 'holds a ' .. t .. ', not an integer') end
local gen = redis.call('GET', KEYS[1])
if gen and not isGeneration(gen) then
  return refuse(KEYS[1], 'holds a string that is not an integer')
end
t = redis.call('TYPE', KEYS[2]).ok
if t ~= 'string' and t ~= 'none' then return refuse(KEYS[2], 'holds a ' .. t .. ', not a string') end
t = redis.call('TYPE', KEYS[3]).ok
if t ~= 'set' and t ~= 'none' then return refuse(KEYS[3], 'holds a ' .. t .. ', not a set') end
if not gen then
  local now = redis.call('TIME')
  gen = now[1] .. string.format('%06d', tonumber(now[2]))
  redis.call('SET', KEYS[1], gen)
end
if ARGV[1] ~= '' and ARGV[1] ~= gen then
  return {0, gen}
end
redis.call('SET', KEYS[2], gen .. ':' .. ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[3], KEYS[2])
if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
return {1, gen}
