#!lua flags=allow-oom
-- Delete the status of one pair, atomically, and tell every instance.
-- KEYS[1] status hash   KEYS[2] line index   KEYS[3] line event sequence
-- KEYS[4] cache generation of the line's connector-info directory  KEYS[5] line ready set
-- KEYS[6] line version floors (hash: connector -> VERSION it had when deleted; never deleted)
-- ARGV[1] connector id  ARGV[2] line id (decimal text)  ARGV[3] now (unix ms)  ARGV[4] event channel
-- Returns {deleted (0/1), sequence}
-- All or nothing, as status_update.lua: every key is checked first and the event is published
-- before the first write. 'allow-oom': out of memory a delete still runs whole, as DEL does
-- (it frees the hash; the floor, sequence and generation it writes are a few bytes), so
-- statuses can be deleted to make room. The pair's last VERSION is kept as its floor in KEYS[6], so a
-- pair brought up again gets a VERSION it never had.
-- A decimal integer for the event JSON: a JSON number while cjson prints it exactly (at most 14
-- digits; what subscribers of the previous release decode), decimal text beyond.
local function wire(text)
  if #text <= 14 then return tonumber(text) end
  return text
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
local function wrongType(key, want)
  local t = redis.call('TYPE', key).ok
  if t ~= 'none' and t ~= want then return 'holds a ' .. t .. ', not a ' .. want end
  return nil
end
local function isCount(text)
  return string.match(text, '^%d+$') ~= nil and #text <= 15
end
-- A counter: missing, or a string of at most `digits` decimal digits in the canonical form
-- INCR takes ("0", or no leading zero; "05" and "-0" pass '^%d+$' but INCR refuses them).
local function counter(key, digits)
  local t = redis.call('TYPE', key).ok
  if t == 'none' then return nil, nil end
  if t ~= 'string' then return 'holds a ' .. t .. ', not an integer' end
  local v = redis.call('GET', key)
  if (v ~= '0' and string.match(v, '^[1-9]%d*$') == nil) or #v > digits then
    return 'holds a string that is not an integer'
  end
  return nil, v
end

local problem = wrongType(KEYS[1], 'hash')
if problem then return refuse(KEYS[1], problem) end
for _, k in ipairs({KEYS[2], KEYS[5]}) do
  problem = wrongType(k, 'set')
  if problem then return refuse(k, problem) end
end
problem = wrongType(KEYS[6], 'hash')
if problem then return refuse(KEYS[6], problem) end
local seqProblem, seqText = counter(KEYS[3], 15)
if seqProblem then return refuse(KEYS[3], seqProblem) end
local genProblem, genText = counter(KEYS[4], 18)
if genProblem then return refuse(KEYS[4], genProblem) end
local genFloor, floorProblem = floorOf(KEYS[6], KEYS[4])
if floorProblem then return refuse(KEYS[6], floorProblem) end

if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[5], ARGV[1])
  return {0, 0}
end
local versionText = redis.call('HGET', KEYS[1], 'VERSION') or '0'
if not isCount(versionText) then return refuse(KEYS[1], 'has a VERSION that is not an integer') end
-- The floor never goes down (a pair re-created by a writer that does not know floors has a
-- VERSION below it).
local floorText = redis.call('HGET', KEYS[6], ARGV[1]) or '0'
if not isCount(floorText) then return refuse(KEYS[6], 'has a floor for ' .. ARGV[1] .. ' that is not an integer') end
local newFloor = string.format('%d', math.max(tonumber(versionText), tonumber(floorText)))
local seq = tonumber(seqText or '0') + 1
local seqOut = string.format('%d', seq)
local published = redis.pcall('PUBLISH', ARGV[4], cjson.encode({
  type = 'deleted', connector = ARGV[1], line = wire(ARGV[2]),
  version = wire(versionText), seq = wire(seqOut), changed = '', ts = wire(ARGV[3])
}))
if type(published) == 'table' and published.err then
  return redis.error_reply('NOPERM channel ' .. ARGV[4] .. ' may not be published to (' .. published.err
    .. '); nothing was changed')
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[6], ARGV[1], newFloor)
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
redis.call('SET', KEYS[3], seqOut)
bumpGeneration(KEYS[4], genText ~= nil, KEYS[6], genFloor)
return {1, seq}
