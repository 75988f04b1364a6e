-- Write one line-cache entry under the directory's current generation, unless a clean happened
-- since the writer read it (no stale resurrection), and note the entry in the generation's
-- index so that a clean of the line can free it.
-- KEYS[1]  generation   imc:{L<line>}:c:<dir>:gen
-- KEYS[2]  entry        imc:{L<line>}:c:<dir>:e:<key>
-- KEYS[3]  index        imc:{L<line>}:c:<dir>:i     (set of entry keys written since the last clean)
-- KEYS[4]  floors       imc:{L<line>}:ver   (hash; the generation's last value, under KEYS[1]'s name)
-- ARGV[1]  the generation the writer read before computing ('' = whatever is current)
-- ARGV[2]  payload      ARGV[3]  time to live, milliseconds
-- Returns {stored (1/0), current generation}
-- Every key is checked before anything is written. A generation that does not exist starts
-- from the server clock in microseconds, so it never takes a number it may have had before
-- (an evicted or deleted generation key cannot make old entries valid again).
-- The prelude (lua/lib/prelude.lua) is joined in front of this text when the script is loaded.
local refused, gen = currentGeneration(KEYS[1], {{KEYS[2], 'string'}, {KEYS[3], 'set'}}, KEYS[4])
if refused then return refused end
if ARGV[1] ~= '' and ARGV[1] ~= gen then
  return {0, gen}
end
redis.call('SET', KEYS[2], gen .. ':' .. ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[3], KEYS[2])
if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
return {1, gen}
