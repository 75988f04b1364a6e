-- Clean one directory on one line: a new generation (old entries are invisible at once), and
-- the entry keys written since the last clean move from the index to a drain set of this clean
-- alone, which the caller then walks in bounded batches (SSCAN + cache_reclaim.lua) and
-- unlinks, so their memory is freed within seconds without a SCAN of the keyspace.
-- KEYS[1]  generation   imc:{L<line>}:c:<dir>:gen
-- KEYS[2]  index        imc:{L<line>}:c:<dir>:i          (entry keys written since the last clean)
-- KEYS[3]  drain        imc:{L<line>}:c:<dir>:d:<token>  (unique to this clean; must not exist)
-- KEYS[4]  floors       imc:{L<line>}:ver   (hash; the generation's last value, under KEYS[1]'s name)
-- ARGV[1]  '1' to move the index to the drain set (the caller will walk it); '0' to leave it,
--          so that the line's next clean frees those entries (a clean across lines does that)
-- Returns {new generation, entry keys in the drain set}
-- Every key is checked before anything is written. A generation that does not exist starts
-- from the server clock in microseconds (never a number it may have had before).
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
-- The index and the drain set are touched only when the index moves; otherwise (a clean across
-- lines) a bad index must not keep the line from being cleaned: the next write names it.
local move = ARGV[1] == '1'
if move then
  t = redis.call('TYPE', KEYS[2]).ok
  if t ~= 'set' and t ~= 'none' then return refuse(KEYS[2], 'holds a ' .. t .. ', not a set') end
  t = redis.call('TYPE', KEYS[3]).ok
  if t ~= 'none' then return refuse(KEYS[3], 'already exists (a ' .. t .. ')') end
end
t = redis.call('TYPE', KEYS[4]).ok
if t ~= 'hash' and t ~= 'none' then return refuse(KEYS[4], 'holds a ' .. t .. ', not a hash') end
local genFloor, floorProblem = floorOf(KEYS[4], KEYS[1])
if floorProblem then return refuse(KEYS[4], floorProblem) end
-- (GET answers false, not nil, for a key that does not exist)
gen = bumpGeneration(KEYS[1], gen ~= false, KEYS[4], genFloor)
if move and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[3])
  return {gen, redis.call('SCARD', KEYS[3])}
end
return {gen, 0}
