#!lua
-- Write one line-cache entry under the directory's current generation, unless a clean happened
-- since the writer read it (no stale resurrection), note the entry in the generation's index so
-- that a clean of the line can free it, and announce it on the line's channel.
-- KEYS[1]  generation   imc:{L<line>}:c:<dir>:gen
-- KEYS[2]  entry        imc:{L<line>}:c:<dir>:e:<key>
-- KEYS[3]  index        imc:{L<line>}:c:<dir>:i     (set of entry keys written since the last clean)
-- KEYS[4]  floors       imc:{L<line>}:ver   (hash; the generation's last value, under KEYS[1]'s name)
-- KEYS[5]  line event sequence  imc:{L<line>}:seq   KEYS[6]  line epoch  imc:{L<line>}:ep
-- ARGV[1]  the generation the writer read before computing ('' = whatever is current)
-- ARGV[2]  payload      ARGV[3]  time to live, milliseconds
-- ARGV[4]  line id (decimal text)  ARGV[5] now (unix ms)  ARGV[6] event channel
-- ARGV[7]  directory (encoded name)  ARGV[8] key (encoded name)  ARGV[9] the new epoch token
-- Returns {stored (1/0), current generation, sequence (0 when refused)}
-- Every key is checked before anything is written. A generation that does not exist starts
-- from the server clock in microseconds, so it never takes a number it may have had before
-- (an evicted or deleted generation key cannot make old entries valid again).
-- A stored entry is announced before the first write: {type 'cache', op 'set', line, seq, pep, ep,
-- dir, key, gen, ts}. A refused write (a clean came first) writes nothing and publishes nothing.
-- The '#!lua' line makes Redis refuse the whole script up front when it is out of memory (so no
-- event goes out for an entry that was not stored).
-- The prelude (lua/lib/prelude.lua) is joined in front of this text when the script is loaded.
local refused, gen, genFloor = checkDirectory(KEYS[1], {{KEYS[2], 'string'}, {KEYS[3], 'set'}}, KEYS[4])
if refused then return refused end
local chainRefused, seqText, pep = checkChain(KEYS[5], KEYS[6], ARGV[9])
if chainRefused then return chainRefused end
-- A writer that read another generation than the current one is refused (a clean came first;
-- or the generation key was lost since it read it), and nothing is written. Otherwise a missing
-- generation is made now, as a read would make it.
if ARGV[1] ~= '' and ARGV[1] ~= gen then
  return {0, gen or '', 0}
end
local created = nil
if not gen then created = nextGeneration(nil, genFloor) end
local current = gen or created
local seqOut = string.format('%d', tonumber(seqText or '0') + 1)
refused = announce(ARGV[6], {
  type = 'cache', op = 'set', line = wire(ARGV[4]), dir = ARGV[7], key = ARGV[8], gen = wire(current),
  ts = wire(ARGV[5])
}, seqOut, pep, ARGV[9])
if refused then return refused end
if created then bumpGeneration(KEYS[1], KEYS[4], created) end
redis.call('SET', KEYS[2], current .. ':' .. ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[3], KEYS[2])
if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
advanceChain(KEYS[5], KEYS[6], seqOut, ARGV[9])
return {1, current, tonumber(seqOut)}
