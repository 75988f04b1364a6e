#!lua
-- Clean one directory on one line: a new generation (old entries are invisible at once), and
-- the entry keys written since the last clean move from the index to a drain set of this clean
-- alone, which the caller then walks in bounded batches (SSCAN + cache_reclaim.lua) and
-- unlinks, so their memory is freed within seconds without a SCAN of the keyspace.
-- KEYS[1]  generation   imc:{L<line>}:c:<dir>:gen
-- KEYS[2]  index        imc:{L<line>}:c:<dir>:i          (entry keys written since the last clean)
-- KEYS[3]  drain        imc:{L<line>}:c:<dir>:d:<token>  (unique to this clean; must not exist)
-- KEYS[4]  floors       imc:{L<line>}:ver   (hash; the generation's last value, under KEYS[1]'s name)
-- KEYS[5]  line event sequence  imc:{L<line>}:seq   KEYS[6]  line epoch  imc:{L<line>}:ep
-- ARGV[1]  '1' to move the index to the drain set (the caller will walk it); '0' to leave it,
--          so that the line's next clean frees those entries (a clean across lines does that)
-- ARGV[2]  line id (decimal text)  ARGV[3] now (unix ms)  ARGV[4] event channel
-- ARGV[5]  directory (encoded name)  ARGV[6] the new epoch token (16 hex digits)
-- Returns {new generation, entry keys in the drain set, sequence}
-- Every key is checked before anything is written, and the clean is announced before the first
-- write: {type 'cache', op 'clean', line, seq, pep, ep, dir, gen, ts}. A generation that does not
-- exist starts from the server clock in microseconds (never a number it may have had before).
-- The '#!lua' line makes Redis refuse the whole script up front when it is out of memory.
-- The prelude (lua/lib/prelude.lua) is joined in front of this text when the script is loaded.
-- The index and the drain set are checked only when the index moves; otherwise (a clean across
-- lines) a bad index must not keep the line from being cleaned: the next write names it.
local move = ARGV[1] == '1'
local others = {}
if move then others = {{KEYS[2], 'set'}, {KEYS[3], 'none'}} end
local refused, gen, genFloor = checkDirectory(KEYS[1], others, KEYS[4])
if refused then return refused end
local chainRefused, seqText, pep = checkChain(KEYS[5], KEYS[6], ARGV[6])
if chainRefused then return chainRefused end
local seqOut = string.format('%d', tonumber(seqText or '0') + 1)
local newGen = nextGeneration(gen, genFloor)
refused = announce(ARGV[4], {
  type = 'cache', op = 'clean', line = wire(ARGV[2]), dir = ARGV[5], gen = wire(newGen), ts = wire(ARGV[3])
}, seqOut, pep, ARGV[6])
if refused then return refused end
bumpGeneration(KEYS[1], KEYS[4], newGen)
advanceChain(KEYS[5], KEYS[6], seqOut, ARGV[6])
local seq = tonumber(seqOut)
if move and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[3])
  return {newGen, redis.call('SCARD', KEYS[3]), seq}
end
return {newGen, 0, seq}
