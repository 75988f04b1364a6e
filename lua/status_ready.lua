-- Is one (connector, line) pair ready? Atomic: one HMGET inside the script.
-- KEYS[1]  status hash   imc:{L<line>}:st:<connector>
-- Returns  -1 when the pair has no status, 1 when ready, 0 otherwise.
-- Ready (Bitrix isStatus) = ACTIVE and CONNECTION and REGISTER are 'Y' and ERROR is not 'Y'.
local f = redis.call('HMGET', KEYS[1], 'ACTIVE', 'CONNECTION', 'REGISTER', 'ERROR')
if not f[1] and not f[2] and not f[3] and not f[4] then
  return -1
end
if f[1] == 'Y' and f[2] == 'Y' and f[3] == 'Y' and f[4] ~= 'Y' then
  return 1
end
return 0
