-- Read one line-cache entry, valid only if written under the directory's current generation.
-- KEYS[1]  generation   imc:{L<line>}:c:<dir>:gen
-- KEYS[2]  entry        imc:{L<line>}:c:<dir>:e:<key>      value: "<generation>:<payload>"
-- KEYS[3]  lease        imc:{L<line>}:c:<dir>:l:<key>
-- ARGV[1]  lease token ('' = do not take a lease on a miss)
-- ARGV[2]  lease time to live, milliseconds
-- ARGV[3]  '1' to return the previous generation's payload on a miss (stale-while-revalidate)
-- Returns {generation, state, payload}
--   state 'hit'     payload is the current value
--         'miss'    no current value (payload: the stale one when asked and present)
--         'lease'   miss, and this caller now holds the lease: compute, then set
--         'wait'    miss, and another caller holds the lease
--         'corrupt' the entry is not "<generation>:<payload>"; it was deleted
local gen = redis.call('GET', KEYS[1]) or '0'
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
