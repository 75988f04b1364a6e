#!lua flags=allow-oom
-- Remove one line-cache entry (Bitrix `clean($id, $dir)` for one id) and announce it on the line's
-- channel, whether or not the entry was there: a copy held elsewhere may outlive the entry in Redis
-- (an eviction), and the announcement is what tells its holder.
-- KEYS[1]  entry        imc:{L<line>}:c:<dir>:e:<key>   (unlinked, whatever it holds)
-- KEYS[2]  line event sequence  imc:{L<line>}:seq   KEYS[3]  line epoch  imc:{L<line>}:ep
-- ARGV[1]  line id (decimal text)  ARGV[2] now (unix ms)  ARGV[3] event channel
-- ARGV[4]  directory (encoded name)  ARGV[5] key (encoded name)  ARGV[6] the new epoch token
-- Returns {removed (1/0), sequence}
-- The sequence and epoch are checked before anything is written, and the event ({type 'cache',
-- op 'remove', line, seq, pep, ep, dir, key, ts}) goes out before the first write.
-- 'allow-oom': out of memory a remove still runs whole, as UNLINK does (it frees memory).
-- The prelude (lua/lib/prelude.lua) is joined in front of this text when the script is loaded.
local refused, seqText, pep = checkChain(KEYS[2], KEYS[3], ARGV[6])
if refused then return refused end
local seqOut = string.format('%d', tonumber(seqText or '0') + 1)
refused = announce(ARGV[3], {
  type = 'cache', op = 'remove', line = wire(ARGV[1]), dir = ARGV[4], key = ARGV[5], ts = wire(ARGV[2])
}, seqOut, pep, ARGV[6])
if refused then return refused end
local removed = redis.call('UNLINK', KEYS[1])
advanceChain(KEYS[2], KEYS[3], seqOut, ARGV[6])
return {removed, tonumber(seqOut)}
