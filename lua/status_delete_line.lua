-- Delete the statuses of the listed connectors of one line (Bitrix deleteAll), atomically.
-- The caller lists the connectors from the line index first; every key is declared here, so
-- the script stays correct on a cluster. If the index still has members afterwards (another
-- instance added one in between), they are returned and the caller runs again with them.
-- KEYS[1] line index  KEYS[2] line event sequence  KEYS[3] cache generation (connector info)
-- KEYS[4] line ready set  KEYS[5..] status hashes, one per ARGV[4..]
-- ARGV[1] line id  ARGV[2] now (unix ms)  ARGV[3] event channel  ARGV[4..] connector ids
-- Returns {deleted count, remaining connector ids...}
local deleted = 0
for i = 5, #KEYS do
  local connector = ARGV[i - 1]
  if redis.call('TYPE', KEYS[i]).ok == 'hash' then
    local version = tonumber(redis.call('HGET', KEYS[i], 'VERSION') or '0')
    redis.call('DEL', KEYS[i])
    local seq = redis.call('INCR', KEYS[2])
    redis.call('PUBLISH', ARGV[3], cjson.encode({
      type = 'deleted', connector = connector, line = tonumber(ARGV[1]),
      version = version, seq = seq, changed = '', ts = tonumber(ARGV[2])
    }))
    deleted = deleted + 1
  end
  redis.call('SREM', KEYS[1], connector)
  redis.call('SREM', KEYS[4], connector)
end
if deleted > 0 then
  redis.call('INCR', KEYS[3])
end
local out = {deleted}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = member
end
return out
