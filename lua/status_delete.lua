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
-- The prelude (lua/lib/prelude.lua) is joined in front of this text when the script is loaded.

local refused, seqText, genText, genFloor = checkLineKeys(KEYS[1], KEYS[2], KEYS[5], KEYS[6], KEYS[3], KEYS[4])
if refused then return refused end

if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[5], ARGV[1])
  return {0, 0}
end
local badVersion, versionText = versionOf(KEYS[1])
if badVersion then return badVersion end
-- The floor never goes down (a pair re-created by a writer that does not know floors has a
-- VERSION below it).
local badFloor, floorText = versionFloor(KEYS[6], ARGV[1])
if badFloor then return badFloor end
local newFloor = string.format('%d', math.max(tonumber(versionText), tonumber(floorText)))
local seq = tonumber(seqText or '0') + 1
local seqOut = string.format('%d', seq)
refused = publishFirst(ARGV[4], cjson.encode({
  type = 'deleted', connector = ARGV[1], line = wire(ARGV[2]),
  version = wire(versionText), seq = wire(seqOut), changed = '', ts = wire(ARGV[3])
}))
if refused then return refused end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[6], ARGV[1], newFloor)
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
redis.call('SET', KEYS[3], seqOut)
bumpGeneration(KEYS[4], genText ~= nil, KEYS[6], genFloor)
return {1, seq}
