-- Register one connector descriptor, atomically across instances.
-- KEYS[1] registry hash (connector id -> canonical descriptor JSON)
-- ARGV[1] connector id  ARGV[2] descriptor JSON  ARGV[3] replace ('1' = overwrite a different one)
-- Returns 'added' | 'unchanged' | 'replaced' | 'conflict' (nothing written on 'unchanged' and 'conflict')
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'none' and t ~= 'hash' then
  return redis.error_reply('WRONGTYPE registry key ' .. KEYS[1] .. ' holds a ' .. t)
end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 'added'
end
if current == ARGV[2] then
  return 'unchanged'
end
if ARGV[3] ~= '1' then
  return 'conflict'
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 'replaced'
