-- Read one line-cache entry, valid only if written under the directory's current generation.
-- KEYS[1]  generation   imc:{L<line>}:c:<dir>:gen
-- KEYS[2]  entry        imc:{L<line>}:c:<dir>:e:<key>      value: "<generation>:<payload>"
-- KEYS[3]  lease        imc:{L<line>}:c:<dir>:l:<key>
-- KEYS[4]  floors       imc:{L<line>}:ver   (hash; the generation's last value, under KEYS[1]'s name)
-- ARGV[1]  lease token ('' = do not take a lease on a miss)
-- ARGV[2]  lease time to live, milliseconds
-- ARGV[3]  '1' to return the previous generation's payload on a miss (stale-while-revalidate)
-- Returns {generation, state, payload}
--   state 'hit'     payload is the current value
--         'miss'    no current value (payload: the stale one when asked and present)
--         'lease'   miss, and this caller now holds the lease: compute, then set
--         'wait'    miss, and another caller holds the lease
--         'corrupt' the entry is not "<generation>:<payload>"; it was deleted
-- A generation that does not exist is created (above its floor, or from the server clock in
-- microseconds when that is larger): the
-- generation a reader saw always exists, so a clean across lines (SCAN of generation keys)
-- finds it, and it never repeats a number it may have had before.
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
if t ~= 'string' and t ~= 'none' then return refuse(KEYS[3], 'holds a ' .. t .. ', not a string') end
t = redis.call('TYPE', KEYS[4]).ok
if t ~= 'hash' and t ~= 'none' then return refuse(KEYS[4], 'holds a ' .. t .. ', not a hash') end
local genFloor, floorProblem = floorOf(KEYS[4], KEYS[1])
if floorProblem then return refuse(KEYS[4], floorProblem) end
if not gen then
  gen = bumpGeneration(KEYS[1], false, KEYS[4], genFloor)
end
local value = redis.call('GET', KEYS[2])
local stale = nil
if value then
  local sep = string.find(value, ':', 1, true)
  if not sep then
    redis.call('UNLINK', KEYS[2])
    return {gen, 'corrupt'}
  end
  if string.sub(value, 1, sep - 1) == gen then
    return {gen, 'hit', string.sub(value, sep + 1)}
  end
  if ARGV[3] == '1' then
    stale = string.sub(value, sep + 1)
  end
end
local state = 'miss'
if ARGV[1] ~= '' then
  if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then
    state = 'lease'
  else
    state = 'wait'
  end
end
if stale then
  return {gen, state, stale}
end
return {gen, state}
