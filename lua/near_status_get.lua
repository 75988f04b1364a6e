#!lua flags=no-writes
-- Near cache fill: one pair's status together with its line's sequence and epoch, read in one
-- step, so the cached status is known to reflect exactly the line's events up to that sequence.
-- KEYS[1]  status hash     imc:{L<line>}:st:<connector>
-- KEYS[2]  line sequence   imc:{L<line>}:seq
-- KEYS[3]  line epoch      imc:{L<line>}:ep
-- Returns  {seq, ep, fields}: seq as text ('0' when the key is missing), ep ('' when missing);
--          both '' and '?' when either key holds another type (the reader then caches nothing).
--          fields = HGETALL of the status hash (a WRONGTYPE error when it is not a hash).
local function text(key)
  local kind = redis.call('TYPE', key).ok
  if kind == 'none' then return nil end
  if kind ~= 'string' then return false end
  return redis.call('GET', key)
end
local seq = text(KEYS[2])
local ep = text(KEYS[3])
local fields = redis.call('HGETALL', KEYS[1])
if seq == false or ep == false then return {'', '?', fields} end
return {seq or '0', ep or '', fields}
