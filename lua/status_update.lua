-- Set any subset of ACTIVE, CONNECTION, REGISTER, ERROR ('Y'/'N') and DATA on one pair, atomically.
-- KEYS[1]  status hash            imc:{L<line>}:st:<connector>
-- KEYS[2]  line index (set)       imc:{L<line>}:st
-- KEYS[3]  line event sequence    imc:{L<line>}:seq
-- KEYS[4]  cache generation of the line's connector-info directory (bumped when a flag changes)
-- KEYS[5]  line ready set         imc:{L<line>}:ready  (connectors whose pair is ready)
-- ARGV[1]  connector id           ARGV[2] line id
-- ARGV[3]  expected VERSION ('' = no compare-and-set; '0' = only if the pair does not exist)
-- ARGV[4]  now, unix milliseconds ARGV[5] event channel
-- ARGV[6..] field, value pairs (fields: ACTIVE CONNECTION REGISTER ERROR DATA)
-- Returns {outcome, version, sequence, changed fields joined by ',', HGETALL of the hash}
--   outcome: 'added' | 'updated' | 'unchanged' | 'conflict'
-- Equal values write nothing, bump nothing and publish nothing.
local key = KEYS[1]
local t = redis.call('TYPE', key).ok
if t ~= 'hash' and t ~= 'none' then
  return redis.error_reply('WRONGTYPE status key ' .. key .. ' holds a ' .. t)
end
local exists = t == 'hash'
local version = tonumber(redis.call('HGET', key, 'VERSION') or '0')
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= version then
  return {'conflict', version, 0, '', redis.call('HGETALL', key)}
end

local changed = {}
local writes = {}
local flagChanged = false
for i = 6, #ARGV, 2 do
  local field, value = ARGV[i], ARGV[i + 1]
  local current = redis.call('HGET', key, field)
  if current == false and field ~= 'DATA' then current = 'N' end
  if current == false then current = '' end
  if current ~= value or not exists then
    if current ~= value then
      changed[#changed + 1] = field
      if field ~= 'DATA' then flagChanged = true end
    end
    writes[#writes + 1] = field
    writes[#writes + 1] = value
  end
end

if exists and #changed == 0 then
  return {'unchanged', version, 0, '', redis.call('HGETALL', key)}
end

if not exists then
  -- A new pair starts with every flag 'N' (Bitrix's defaults) unless set here.
  redis.call('HSET', key, 'ACTIVE', 'N', 'CONNECTION', 'N', 'REGISTER', 'N', 'ERROR', 'N')
  flagChanged = true
end
if #writes > 0 then
  redis.call('HSET', key, unpack(writes))
end
version = redis.call('HINCRBY', key, 'VERSION', 1)
local f = redis.call('HMGET', key, 'ACTIVE', 'CONNECTION', 'REGISTER', 'ERROR')
if f[1] == 'Y' and f[2] == 'Y' and f[3] == 'Y' and f[4] ~= 'Y' then
  redis.call('SADD', KEYS[5], ARGV[1])
else
  redis.call('SREM', KEYS[5], ARGV[1])
end
redis.call('HSET', key, 'UPDATED', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[1])
local seq = redis.call('INCR', KEYS[3])
if flagChanged then
  redis.call('INCR', KEYS[4])
end
local outcome = exists and 'updated' or 'added'
local list = table.concat(changed, ',')
redis.call('PUBLISH', ARGV[5], cjson.encode({
  type = outcome, connector = ARGV[1], line = tonumber(ARGV[2]),
  version = version, seq = seq, changed = list, ts = tonumber(ARGV[4])
}))
return {outcome, version, seq, list, redis.call('HGETALL', key)}
