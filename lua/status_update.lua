#!lua
-- Set any subset of ACTIVE, CONNECTION, REGISTER, ERROR ('Y'/'N') and DATA on one pair, atomically.
-- KEYS[1]  status hash            imc:{L<line>}:st:<connector>
-- KEYS[2]  line index (set)       imc:{L<line>}:st
-- KEYS[3]  line event sequence    imc:{L<line>}:seq
-- KEYS[4]  cache generation of the line's connector-info directory (bumped when a flag changes)
-- KEYS[5]  line ready set         imc:{L<line>}:ready  (connectors whose pair is ready)
-- KEYS[6]  line version floors    imc:{L<line>}:ver    (hash: connector -> VERSION it had when deleted)
-- KEYS[7]  line epoch             imc:{L<line>}:ep     (the chain token of the line's last event)
-- ARGV[1]  connector id           ARGV[2] line id (decimal text)
-- ARGV[3]  expected VERSION ('' = no compare-and-set; '0' = only if the pair does not exist)
-- ARGV[4]  now, unix milliseconds ARGV[5] event channel
-- ARGV[6]  the new epoch token (16 hex digits)  ARGV[7] the connector-info directory (encoded name)
-- ARGV[8..] field, value pairs (fields: ACTIVE CONNECTION REGISTER ERROR DATA)
-- Returns {outcome, version, sequence, changed fields joined by ',', HGETALL of the hash}
--   outcome: 'added' | 'updated' | 'unchanged' | 'conflict'
-- Equal values write nothing, bump nothing and publish nothing.
-- The event: type, connector, line, version, seq, changed, ts (what the previous release reads),
-- pep and ep (the chain), flags (ACTIVE, CONNECTION, REGISTER, ERROR after the write, one 'Y'/'N'
-- each: a near cache updates its copy in place when DATA did not change), and dir and gen when
-- the connector-info directory got a new generation.
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
-- The prelude (lua/lib/prelude.lua) is joined in front of this text when the script is loaded.

local key = KEYS[1]
local refused, seqText, pep, genText, genFloor =
  checkLineKeys(key, KEYS[2], KEYS[5], KEYS[6], KEYS[3], KEYS[7], ARGV[6], KEYS[4])
if refused then return refused end
local exists = redis.call('EXISTS', key) == 1
local badVersion, versionText = versionOf(key)
if badVersion then return badVersion end
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
for i = 8, #ARGV, 2 do
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
local badFloor, floor = versionFloor(KEYS[6], ARGV[1])
if badFloor then return badFloor end
local base = math.max(version, tonumber(floor))
local newVersion = base + 1
local versionOut = string.format('%d', newVersion)
local seq = tonumber(seqText or '0') + 1
local seqOut = string.format('%d', seq)
local outcome = exists and 'updated' or 'added'
local list = table.concat(changed, ',')
local function yn(value) if value == 'Y' then return 'Y' end return 'N' end
local event = {
  type = outcome, connector = ARGV[1], line = wire(ARGV[2]), version = wire(versionOut), changed = list,
  ts = wire(ARGV[4]),
  flags = yn(after.ACTIVE) .. yn(after.CONNECTION) .. yn(after.REGISTER) .. yn(after.ERROR)
}
local newGen = nil
if flagChanged then
  newGen = nextGeneration(genText, genFloor)
  event.dir = ARGV[7]
  event.gen = wire(newGen)
end
refused = announce(ARGV[5], event, seqOut, pep, ARGV[6])
if refused then return refused end

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
advanceChain(KEYS[3], KEYS[7], seqOut, ARGV[6])
if newGen then bumpGeneration(KEYS[4], KEYS[6], newGen) end
return {outcome, newVersion, seq, list, redis.call('HGETALL', key)}
