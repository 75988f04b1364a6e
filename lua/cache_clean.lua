-- Clean one directory on one line: a new generation (old entries are invisible at once), and
-- the entry keys written under the old generations move to the drain set, which the caller
-- then empties in bounded batches (SPOP + cache_reclaim.lua), so their memory is freed within
-- seconds without a SCAN of the keyspace.
-- KEYS[1]  generation   imc:{L<line>}:c:<dir>:gen
-- KEYS[2]  index        imc:{L<line>}:c:<dir>:i     (entry keys written since the last clean)
-- KEYS[3]  drain        imc:{L<line>}:c:<dir>:d     (entry keys waiting to be reclaimed)
-- Returns {new generation, entry keys waiting in the drain set}
-- Every key is checked before anything is written. A generation that does not exist starts
-- from the server clock in microseconds (never a number it may have had before).
local function refuse(key, what)
  return redis.error_reply('WRONGTYPE key ' .. key .. ' ' .. what .. '; nothing was changed')
end
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'string' and t ~= 'none' then return refuse(KEYS[1], 'holds a ' .. t .. ', not an integer') end
local gen = redis.call('GET', KEYS[1])
if gen and (not string.match(gen, '^%-?%d+$') or #gen > 18) then
  return refuse(KEYS[1], 'holds a string that is not an integer')
end
for i = 2, 3 do
  t = redis.call('TYPE', KEYS[i]).ok
  if t ~= 'set' and t ~= 'none' then return refuse(KEYS[i], 'holds a ' .. t .. ', not a set') end
end
if gen then
  gen = redis.call('INCR', KEYS[1])
else
  local now = redis.call('TIME')
  gen = now[1] .. string.format('%06d', tonumber(now[2]))
  redis.call('SET', KEYS[1], gen)
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('EXISTS', KEYS[3]) == 1 then
    local ttl = math.max(redis.call('PTTL', KEYS[2]), redis.call('PTTL', KEYS[3]))
    redis.call('SUNIONSTORE', KEYS[3], KEYS[3], KEYS[2])
    redis.call('DEL', KEYS[2])
    if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
  else
    redis.call('RENAME', KEYS[2], KEYS[3])
  end
end
return {gen, redis.call('SCARD', KEYS[3])}
