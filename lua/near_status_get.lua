#!lua flags=no-writes
-- Near cache fill: one pair's status together with its line's sequence and epoch, read in one
-- step, so the cached status is known to reflect exactly the line's events up to that sequence.
-- KEYS[1]  status hash     imc:{L<line>}:st:<connector>
-- KEYS[2]  line sequence   imc:{L<line>}:seq
-- KEYS[3]  line epoch      imc:{L<line>}:ep
-- Returns  {seq, ep, fields}: seq as text ('0' when the key is missing), ep ('' when missing);
--          fields = HGETALL of the status hash (a WRONGTYPE error when it is not a hash).
-- MGET answers nil for a key of another type too: such a line reads as never written, which is
-- safe to cache, because every write script refuses to touch a line while one of its keys holds
-- another type (nothing can change what was read), and the barrier drops the line once the keys
-- change.
local position = redis.call('MGET', KEYS[2], KEYS[3])
local fields = redis.call('HGETALL', KEYS[1])
return {position[1] or '0', position[2] or '', fields}
