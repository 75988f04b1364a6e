#!lua flags=allow-oom
-- Delete the status of one pair, atomically, and tell every instance.
-- KEYS[1] status hash   KEYS[2] line index   KEYS[3] line event sequence
-- KEYS[4] cache generation of the line's connector-info directory  KEYS[5] line ready set
-- KEYS[6] line version floors (hash: connector -> VERSION it had when deleted; never deleted)
-- KEYS[7] line epoch (the chain token of the line's last event)
-- ARGV[1] connector id  ARGV[2] line id (decimal text)  ARGV[3] now (unix ms)  ARGV[4] event channel
-- ARGV[5] the new epoch token (16 hex digits)  ARGV[6] the connector-info directory (encoded name)
-- Returns {deleted (0/1), sequence}
-- The event: type 'deleted', connector, line, version, seq, changed, ts, pep, ep, dir, gen (the
-- connector-info directory's new generation). Deleting a missing pair publishes nothing.
-- All or nothing, as status_update.lua: every key is checked first and the event is published
-- before the first write. 'allow-oom': out of memory a delete still runs whole, as DEL does
-- (it frees the hash; the floor, sequence and generation it writes are a few bytes), so
-- statuses can be deleted to make room. The pair's last VERSION is kept as its floor in KEYS[6], so a
-- pair brought up again gets a VERSION it never had.
-- The prelude (lua/lib/prelude.lua) is joined in front of this text when the script is loaded.

local refused, seqText, pep, genText, genFloor =
  checkLineKeys(KEYS[1], KEYS[2], KEYS[5], KEYS[6], KEYS[3], KEYS[7], ARGV[5], KEYS[4])
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
local newGen = nextGeneration(genText, genFloor)
refused = announce(ARGV[4], {
  type = 'deleted', connector = ARGV[1], line = wire(ARGV[2]), version = wire(versionText), changed = '',
  ts = wire(ARGV[3]), dir = ARGV[6], gen = wire(newGen)
}, seqOut, pep, ARGV[5])
if refused then return refused end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[6], ARGV[1], newFloor)
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
advanceChain(KEYS[3], KEYS[7], seqOut, ARGV[5])
bumpGeneration(KEYS[4], KEYS[6], newGen)
return {1, seq}
