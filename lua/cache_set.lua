-- Write one line-cache entry under the directory's current generation, unless a clean happened
-- since the writer read it (no stale resurrection), and note the entry in the generation's
-- index so that a clean of the line can free it.
-- KEYS[1]  generation   imc:{L<line>}:c:<dir>:gen
-- KEYS[2]  entry        imc:{L<line>}:c:<dir>:e:<key>
-- KEYS[3]  index        imc:{L<line>}:c:<dir>:i     (set of entry keys written since the last clean)
-- KEYS[4]  floors       imc:{L<line>}:ver   (hash; the generation's last value, under KEYS[1]'s name)
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
-- Generation floors: the line's floors hash (…:ver) also keeps, under the generation key's own
-- name, the last value that generation had. A generation key that is gone (a stray DEL) restarts
-- above it, or at the server clock in microseconds when that is larger: never a value it had,
-- even on a server whose clock is behind the one that made those values.
local function floorOf(floors, genKey)
  local floor = redis.call('HGET', floors, genKey)
  if floor and not (#floor <= 18 and (floor == '0' or string.match(floor, '^[1-9]%d*$'))) then
    return nil, 'has a floor for ' .. genKey .. ' that is not an integer'
  end
  return floor
end
-- Writes the next generation (INCR, or the restart) and records it as the floor; returns it as
-- text. Call only after every check.
local function bumpGeneration(genKey, exists, floors, floor)
  if exists then
    redis.call('INCR', genKey)
  else
    local t = redis.call('TIME')
    local clock = t[1] .. string.format('%06d', tonumber(t[2]))
    if floor and (#floor > #clock or (#floor == #clock and floor >= clock)) then
      redis.call('SET', genKey, floor)
      redis.call('INCR', genKey)
    else
      redis.call('SET', genKey, clock)
    end
  end
  local gen = redis.call('GET', genKey)
  redis.call('HSET', floors, genKey, gen)
  return gen
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
t = redis.call('TYPE', KEYS[4]).ok
if t ~= 'hash' and t ~= 'none' then return refuse(KEYS[4], 'holds a ' .. t .. ', not a hash') end
local genFloor, floorProblem = floorOf(KEYS[4], KEYS[1])
if floorProblem then return refuse(KEYS[4], floorProblem) end
if not gen then
  gen = bumpGeneration(KEYS[1], false, KEYS[4], genFloor)
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
