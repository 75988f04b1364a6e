-- Release a get-or-compute lease only if this caller still holds it (compare-and-delete).
-- KEYS[1]  lease key    ARGV[1]  the holder's token
-- Returns 1 when released, 0 when the lease had expired or belongs to another caller.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
