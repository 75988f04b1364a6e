#!lua flags=allow-oom
-- Delete the statuses of the listed connectors of one line (Bitrix deleteAll), atomically.
-- The caller lists the connectors from the line index first; every key is declared here, so
-- the script stays correct on a cluster. If the index still has members afterwards (another
-- instance added one in between), they are returned and the caller runs again with them.
-- KEYS[1] line index  KEYS[2] line event sequence  KEYS[3] cache generation (connector info)
-- KEYS[4] line ready set  KEYS[5] line version floors (hash: connector -> last VERSION, never
-- deleted)  KEYS[6..] status hashes, one per ARGV[4..]
-- ARGV[1] line id (decimal text)  ARGV[2] now (unix ms)  ARGV[3] event channel  ARGV[4..] connector ids
-- Returns {deleted count, remaining connector ids...}
-- All or nothing, as status_update.lua: every key is checked first and the events are
-- published before the first write. 'allow-oom' as status_delete.lua: out of memory it still
-- runs whole.
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

local problem
for _, k in ipairs({KEYS[1], KEYS[4]}) do
  problem = wrongType(k, 'set')
  if problem then return refuse(k, problem) end
end
local seqProblem, seqText = counter(KEYS[2], 15)
if seqProblem then return refuse(KEYS[2], seqProblem) end
local genProblem, genText = counter(KEYS[3], 18)
if genProblem then return refuse(KEYS[3], genProblem) end
problem = wrongType(KEYS[5], 'hash')
if problem then return refuse(KEYS[5], problem) end
local genFloor, floorProblem = floorOf(KEYS[5], KEYS[3])
if floorProblem then return refuse(KEYS[5], floorProblem) end
local versions = {}
local floors = {}
for i = 6, #KEYS do
  problem = wrongType(KEYS[i], 'hash')
  if problem then return refuse(KEYS[i], problem) end
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local versionText = redis.call('HGET', KEYS[i], 'VERSION') or '0'
    if not isCount(versionText) then return refuse(KEYS[i], 'has a VERSION that is not an integer') end
    versions[i] = versionText
    -- The floor never goes down (see status_delete.lua).
    local floorText = redis.call('HGET', KEYS[5], ARGV[i - 2]) or '0'
    if not isCount(floorText) then
      return refuse(KEYS[5], 'has a floor for ' .. ARGV[i - 2] .. ' that is not an integer')
    end
    floors[i] = string.format('%d', math.max(tonumber(versionText), tonumber(floorText)))
  end
end

local seq = tonumber(seqText or '0')
local deleted = 0
for i = 6, #KEYS do
  if versions[i] then
    seq = seq + 1
    local published = redis.pcall('PUBLISH', ARGV[3], cjson.encode({
      type = 'deleted', connector = ARGV[i - 2], line = wire(ARGV[1]),
      version = wire(versions[i]), seq = wire(string.format('%d', seq)), changed = '', ts = wire(ARGV[2])
    }))
    if type(published) == 'table' and published.err then
      if deleted == 0 then
        return redis.error_reply('NOPERM channel ' .. ARGV[3] .. ' may not be published to (' .. published.err
          .. '); nothing was changed')
      end
      -- Cannot happen: the same channel was just published to.
      return redis.error_reply('ERR publishing to ' .. ARGV[3] .. ' failed after ' .. deleted .. ' events ('
        .. published.err .. '); events were published but nothing was deleted')
    end
    deleted = deleted + 1
  end
end

for i = 6, #KEYS do
  local connector = ARGV[i - 2]
  if versions[i] then
    redis.call('DEL', KEYS[i])
    redis.call('HSET', KEYS[5], connector, floors[i])
  end
  redis.call('SREM', KEYS[1], connector)
  redis.call('SREM', KEYS[4], connector)
end
if deleted > 0 then
  redis.call('SET', KEYS[2], string.format('%d', seq))
  bumpGeneration(KEYS[3], genText ~= nil, KEYS[5], genFloor)
end
local out = {deleted}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = member
end
return out
