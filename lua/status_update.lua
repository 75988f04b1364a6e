#!lua
-- Set any subset of ACTIVE, CONNECTION, REGISTER, ERROR ('Y'/'N') and DATA on one pair, atomically.
-- KEYS[1]  status hash            imc:{L<line>}:st:<connector>
-- KEYS[2]  line index (set)       imc:{L<line>}:st
-- KEYS[3]  line event sequence    imc:{L<line>}:seq
-- KEYS[4]  cache generation of the line's connector-info directory (bumped when a flag changes)
-- KEYS[5]  line ready set         imc:{L<line>}:ready  (connectors whose pair is ready)
-- KEYS[6]  line version floors    imc:{L<line>}:ver    (hash: connector -> VERSION it had when deleted)
-- ARGV[1]  connector id           ARGV[2] line id (decimal text)
-- ARGV[3]  expected VERSION ('' = no compare-and-set; '0' = only if the pair does not exist)
-- ARGV[4]  now, unix milliseconds ARGV[5] event channel
-- ARGV[6..] field, value pairs (fields: ACTIVE CONNECTION REGISTER ERROR DATA)
-- Returns {outcome, version, sequence, changed fields joined by ',', HGETALL of the hash}
--   outcome: 'added' | 'updated' | 'unchanged' | 'conflict'
-- Equal values write nothing, bump nothing and publish nothing.
--
-- All or nothing: every key is checked (type; integer where one is read) before anything is
-- written, and the event is published before the first write, so a PUBLISH the ACL denies
-- leaves everything as it was. The '#!lua' line makes Redis refuse the whole script up front
-- when it is out of memory (instead of at the first write, after the PUBLISH).
-- VERSION counts the pair's changes since it was first written, across deletes: a pair deleted
-- at VERSION 7 and brought up again starts at 8 (the floor is kept in KEYS[6], never deleted),
-- so a compare-and-set can never succeed against another incarnation of the pair. A change
-- continues from max(VERSION, floor), and a floor never goes down.
-- Integers of more than 14 digits travel as text in the event: cjson prints numbers with 14
-- significant digits. Shorter ones stay JSON numbers, which the previous release reads.
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

local key = KEYS[1]
local problem = wrongType(key, 'hash')
if problem then return refuse(key, problem) end
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
local exists = redis.call('EXISTS', key) == 1
local versionText = redis.call('HGET', key, 'VERSION') or '0'
if not isCount(versionText) then return refuse(key, 'has a VERSION that is not an integer') end
local version = tonumber(versionText)
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= version then
  return {'conflict', version, 0, '', redis.call('HGETALL', key)}
end

local changed = {}
local writes = {}
local flagChanged = false
local after = {ACTIVE = 'N', CONNECTION = 'N', REGISTER = 'N', ERROR = 'N'}
local now = redis.call('HMGET', key, 'ACTIVE', 'CONNECTION', 'REGISTER', 'ERROR')
after.ACTIVE, after.CONNECTION, after.REGISTER, after.ERROR =
  now[1] or 'N', now[2] or 'N', now[3] or 'N', now[4] or 'N'
for i = 6, #ARGV, 2 do
  local field, value = ARGV[i], ARGV[i + 1]
  local current = redis.call('HGET', key, field)
  if current == false and field ~= 'DATA' then current = 'N' end
  if current == false then current = '' end
  if current ~= value or not exists then
    if current ~= value then
      changed[#changed + 1] = field
      if field ~= 'DATA' then flagChanged = true end
    end
    writes[#writes + 1] = field
    writes[#writes + 1] = value
  end
  if field ~= 'DATA' then after[field] = value end
end

if exists and #changed == 0 then
  return {'unchanged', version, 0, '', redis.call('HGETALL', key)}
end
if not exists then flagChanged = true end
-- Continue above the floor even when the pair exists: a pair re-created by a writer that does
-- not know floors (the previous release, during a rolling upgrade) restarts at 1, and its
-- versions would otherwise repeat those of the earlier life.
local floor = redis.call('HGET', KEYS[6], ARGV[1]) or '0'
if not isCount(floor) then return refuse(KEYS[6], 'has a floor for ' .. ARGV[1] .. ' that is not an integer') end
local base = math.max(version, tonumber(floor))
local newVersion = base + 1
local versionOut = string.format('%d', newVersion)
local seq = tonumber(seqText or '0') + 1
local seqOut = string.format('%d', seq)
local outcome = exists and 'updated' or 'added'
local list = table.concat(changed, ',')
local published = redis.pcall('PUBLISH', ARGV[5], cjson.encode({
  type = outcome, connector = ARGV[1], line = wire(ARGV[2]),
  version = wire(versionOut), seq = wire(seqOut), changed = list, ts = wire(ARGV[4])
}))
if type(published) == 'table' and published.err then
  return redis.error_reply('NOPERM channel ' .. ARGV[5] .. ' may not be published to (' .. published.err
    .. '); nothing was changed')
end

if not exists then
  -- A new pair starts with every flag 'N' (Bitrix's defaults) unless set here.
  redis.call('HSET', key, 'ACTIVE', 'N', 'CONNECTION', 'N', 'REGISTER', 'N', 'ERROR', 'N')
end
if #writes > 0 then
  redis.call('HSET', key, unpack(writes))
end
redis.call('HSET', key, 'VERSION', versionOut, 'UPDATED', ARGV[4])
if after.ACTIVE == 'Y' and after.CONNECTION == 'Y' and after.REGISTER == 'Y' and after.ERROR ~= 'Y' then
  redis.call('SADD', KEYS[5], ARGV[1])
else
  redis.call('SREM', KEYS[5], ARGV[1])
end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], seqOut)
if flagChanged then
  bumpGeneration(KEYS[4], genText ~= nil, KEYS[6], genFloor)
end
return {outcome, newVersion, seq, list, redis.call('HGETALL', key)}
