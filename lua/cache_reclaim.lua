-- Reclaim memory of one line's entries written under an older generation of a directory.
-- Called with a small batch of keys (found by SCAN, or popped from a clean's drain set); reads
-- only each value's generation prefix. Keys of another type are left alone.
-- KEYS[1]     generation   imc:{L<line>}:c:<dir>:gen
-- KEYS[2..]   entries      imc:{L<line>}:c:<dir>:e:<key>   (same line, so one slot)
-- Returns the number of entries unlinked.
-- Without a generation key no entry is current (a reader or writer would create one first).
local gen = redis.call('GET', KEYS[1])
local removed = 0
for i = 2, #KEYS do
  if redis.call('TYPE', KEYS[i]).ok == 'string' then
    local head = redis.call('GETRANGE', KEYS[i], 0, 24)
    local sep = string.find(head, ':', 1, true)
    if not gen or not sep or string.sub(head, 1, sep - 1) ~= gen then
      removed = removed + redis.call('UNLINK', KEYS[i])
    end
  end
end
return removed
