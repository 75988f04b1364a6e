-- Readiness of several pairs of ONE line (all keys share the line's hash tag, so one slot).
-- KEYS[i]  status hashes  imc:{L<line>}:st:<connector>
-- Returns  one integer per key, in order: -1 no status, 1 ready, 0 not ready.
local out = {}
for i = 1, #KEYS do
  local f = redis.call('HMGET', KEYS[i], 'ACTIVE', 'CONNECTION', 'REGISTER', 'ERROR')
  if not f[1] and not f[2] and not f[3] and not f[4] then
    out[i] = -1
  elseif f[1] == 'Y' and f[2] == 'Y' and f[3] == 'Y' and f[4] ~= 'Y' then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
