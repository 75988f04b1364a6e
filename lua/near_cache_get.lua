-- Near cache fill of one line-cache entry: what `cache_get.lua` reads (no lease, no stale value)
-- together with the line's sequence and epoch and the entry's remaining time to live, in one
-- step, so the cached answer is known to reflect exactly the line's events up to that sequence.
-- KEYS[1]  generation   imc:{L<line>}:c:<dir>:gen
-- KEYS[2]  entry        imc:{L<line>}:c:<dir>:e:<key>      value: "<generation>:<payload>"
-- KEYS[3]  floors       imc:{L<line>}:ver   (hash; the generation's last value, under KEYS[1]'s name)
-- KEYS[4]  line sequence   imc:{L<line>}:seq   KEYS[5]  line epoch   imc:{L<line>}:ep
-- Returns {generation, state, payload or nil, seq, ep, pttl}
--   state 'hit'     payload is the current value; pttl its time to live in ms (-1: none)
--         'miss'    no current value
--         'corrupt' the entry is not "<generation>:<payload>"; it was deleted
--   seq as text ('0' when the key is missing), ep ('' when missing)
-- One MGET reads all four (one slot: the line's hash tag), as `LineCache`'s plain read does; only a
-- generation that does not exist goes through the checks of `cache_get.lua`, which create it
-- (above its floor, or from the server clock in microseconds), so the generation handed out always
-- exists and never repeats. As in the plain read, an entry of another type reads as a miss.
-- MGET answers nil for a sequence or epoch key of another type too: such a line reads as never
-- written, which is safe to cache, because every write script refuses to touch a line while one
-- of those keys holds another type, and the barrier drops the line once they change.
-- The prelude (lua/lib/prelude.lua) is joined in front of this text when the script is loaded.
local values = redis.call('MGET', KEYS[1], KEYS[2], KEYS[4], KEYS[5])
local gen, value = values[1], values[2]
local seq = values[3] or '0'
local ep = values[4] or ''
if not gen then
  -- Missing, or not a string (the checks say which).
  local refused, created = currentGeneration(KEYS[1], {{KEYS[2], 'string'}}, KEYS[3])
  if refused then return refused end
  return {created, 'miss', false, seq, ep, -2}
end
if not isIncrInteger(gen, 18) then
  return refuse(KEYS[1], 'holds a string that is not a cache generation')
end
if value then
  local sep = string.find(value, ':', 1, true)
  if not sep then
    redis.call('UNLINK', KEYS[2])
    return {gen, 'corrupt', false, seq, ep, -2}
  end
  if string.sub(value, 1, sep - 1) == gen then
    return {gen, 'hit', string.sub(value, sep + 1), seq, ep, redis.call('PTTL', KEYS[2])}
  end
end
return {gen, 'miss', false, seq, ep, -2}
