-- Read one line-cache entry, valid only if written under the directory's current generation.
-- KEYS[1]  generation   imc:{L<line>}:c:<dir>:gen
-- KEYS[2]  entry        imc:{L<line>}:c:<dir>:e:<key>      value: "<generation>:<payload>"
-- KEYS[3]  lease        imc:{L<line>}:c:<dir>:l:<key>
-- KEYS[4]  floors       imc:{L<line>}:ver   (hash; the generation's last value, under KEYS[1]'s name)
-- ARGV[1]  lease token ('' = do not take a lease on a miss)
-- ARGV[2]  lease time to live, milliseconds
-- ARGV[3]  '1' to return the previous generation's payload on a miss (stale-while-revalidate)
-- Returns {generation, state, payload}
--   state 'hit'     payload is the current value
--         'miss'    no current value (payload: the stale one when asked and present)
--         'lease'   miss, and this caller now holds the lease: compute, then set
--         'wait'    miss, and another caller holds the lease
--         'corrupt' the entry is not "<generation>:<payload>"; it was deleted
-- A generation that does not exist is created (above its floor, or from the server clock in
-- microseconds when that is larger): the
-- generation a reader saw always exists, so a clean across lines (SCAN of generation keys)
-- finds it, and it never repeats a number it may have had before.
-- The prelude (lua/lib/prelude.lua) is joined in front of this text when the script is loaded.
local refused, gen = currentGeneration(KEYS[1], {{KEYS[2], 'string'}, {KEYS[3], 'string'}}, KEYS[4])
if refused then return refused end
local value = redis.call('GET', KEYS[2])
local stale = nil
if value then
  local sep = string.find(value, ':', 1, true)
  if not sep then
    redis.call('UNLINK', KEYS[2])
    return {gen, 'corrupt'}
  end
  if string.sub(value, 1, sep - 1) == gen then
    return {gen, 'hit', string.sub(value, sep + 1)}
  end
  if ARGV[3] == '1' then
    stale = string.sub(value, sep + 1)
  end
end
local state = 'miss'
if ARGV[1] ~= '' then
  if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then
    state = 'lease'
  else
    state = 'wait'
  end
end
if stale then
  return {gen, state, stale}
end
return {gen, state}
