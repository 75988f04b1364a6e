-- Near cache barrier: reads the sequence and epoch of some lines and publishes them to the reading
-- instance's heartbeat channel, in one step on the master that holds those lines. Every event
-- these lines' writes published before this script reaches a subscriber before this message
-- (one master, one ordered stream), so when the message arrives the subscriber can compare what
-- it applied with what Redis holds, exactly.
-- No shebang: PUBLISH is refused in a `no-writes` script, and a `#!lua` script would be refused at
-- maxmemory although it writes nothing.
-- KEYS     the lines' sequence and epoch keys, in pairs: imc:{L<a>}:seq, imc:{L<a>}:ep, imc:{L<b>}:seq, ...
-- ARGV[1]  heartbeat channel   imc:nc:hb:<instance>
-- ARGV[2]  tick number
-- ARGV[3…] the lines' ids, in the order of KEYS
-- Publishes "<tick> <line>:<seq>:<ep> <line>:<seq>:<ep> ...": seq '0' and ep '' when missing or
-- holding another type (MGET answers nil for both; the reader then finds no match and drops the
-- line). Returns the number of lines.
local values = redis.call('MGET', unpack(KEYS))
local parts = {ARGV[2]}
for i = 1, #KEYS, 2 do
  local line = ARGV[2 + (i + 1) / 2]
  parts[#parts + 1] = line .. ':' .. (values[i] or '0') .. ':' .. (values[i + 1] or '')
end
redis.call('PUBLISH', ARGV[1], table.concat(parts, ' '))
return #parts - 1
