#!lua flags=allow-oom
-- Delete the statuses of the listed connectors of one line (Bitrix deleteAll), atomically.
-- The caller lists the connectors from the line index first; every key is declared here, so
-- the script stays correct on a cluster. If the index still has members afterwards (another
-- instance added one in between), they are returned and the caller runs again with them.
-- KEYS[1] line index  KEYS[2] line event sequence  KEYS[3] cache generation (connector info)
-- KEYS[4] line ready set  KEYS[5] line version floors (hash: connector -> last VERSION, never
-- deleted)  KEYS[6] line epoch  KEYS[7..] status hashes, one per ARGV[6..]
-- ARGV[1] line id (decimal text)  ARGV[2] now (unix ms)  ARGV[3] event channel
-- ARGV[4] the new epoch token (16 hex digits)  ARGV[5] the connector-info directory (encoded name)
-- ARGV[6..] connector ids
-- Returns {deleted count, remaining connector ids...}
-- One 'deleted' event per deleted pair, chained: event i has ep = token .. '.' .. i and pep = the
-- previous event's ep (the first: the line's epoch); the epoch key ends at the last one, which also
-- carries dir and gen (the connector-info directory's new generation).
-- All or nothing, as status_update.lua: every key is checked first and the events are
-- published before the first write. 'allow-oom' as status_delete.lua: out of memory it still
-- runs whole.
-- The prelude (lua/lib/prelude.lua) is joined in front of this text when the script is loaded.

local refused, seqText, pep, genText, genFloor =
  checkLineKeys(nil, KEYS[1], KEYS[4], KEYS[5], KEYS[2], KEYS[6], ARGV[4], KEYS[3])
if refused then return refused end
local versions = {}
local floors = {}
for i = 7, #KEYS do
  refused = checkTypes({{KEYS[i], 'hash'}})
  if refused then return refused end
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local badVersion, versionText = versionOf(KEYS[i])
    if badVersion then return badVersion end
    versions[i] = versionText
    -- The floor never goes down (see status_delete.lua).
    local badFloor, floorText = versionFloor(KEYS[5], ARGV[i - 1])
    if badFloor then return badFloor end
    floors[i] = string.format('%d', math.max(tonumber(versionText), tonumber(floorText)))
  end
end

local seq = tonumber(seqText or '0')
local total = 0
for i = 7, #KEYS do
  if versions[i] then total = total + 1 end
end
local newGen = nil
if total > 0 then newGen = nextGeneration(genText, genFloor) end
local deleted = 0
local ep = pep
for i = 7, #KEYS do
  if versions[i] then
    seq = seq + 1
    local previous = ep
    ep = ARGV[4] .. '.' .. (deleted + 1)
    local event = {
      type = 'deleted', connector = ARGV[i - 1], line = wire(ARGV[1]), version = wire(versions[i]), changed = '',
      ts = wire(ARGV[2])
    }
    if deleted + 1 == total then
      event.dir = ARGV[5]
      event.gen = wire(newGen)
    end
    local denied, err = announce(ARGV[3], event, string.format('%d', seq), previous, ep)
    if denied then
      if deleted == 0 then return denied end
      -- Cannot happen: the same channel was just published to.
      return redis.error_reply('ERR publishing to ' .. ARGV[3] .. ' failed after ' .. deleted .. ' events ('
        .. err .. '); events were published but nothing was deleted')
    end
    deleted = deleted + 1
  end
end

for i = 7, #KEYS do
  local connector = ARGV[i - 1]
  if versions[i] then
    redis.call('DEL', KEYS[i])
    redis.call('HSET', KEYS[5], connector, floors[i])
  end
  redis.call('SREM', KEYS[1], connector)
  redis.call('SREM', KEYS[4], connector)
end
if deleted > 0 then
  advanceChain(KEYS[2], KEYS[6], string.format('%d', seq), ep)
  bumpGeneration(KEYS[3], KEYS[5], newGen)
end
local out = {deleted}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = member
end
return out
