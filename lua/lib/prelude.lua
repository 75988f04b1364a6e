-- lua/lib/prelude.lua: the functions every write script shares (status_update, status_delete,
-- status_delete_line, cache_get, cache_set, cache_remove, cache_clean, near_cache_get). Redis scripts cannot `require`, so the
-- library joins this text into each of them when it loads them (after a '#!lua' line, before the
-- script's own text); what Redis runs, and what its SHA1 names, is the joined text.
--
-- Redis never rolls a script back: every script checks every key it will touch (its type, and
-- the integer it reads) before its first write, publishes its event before its first write (an
-- ACL that denies the channel then leaves everything as it was), and only then writes.
--
-- Every write that can change what a reader holds is announced on its line's channel with the
-- line's sequence (`seq`) and a chain link: `pep`, the epoch token the line's epoch key held,
-- and `ep`, the new token (made by the client), which the write then stores. A subscriber that
-- applied event n knows event n+1 follows it only if n+1's `pep` is n's `ep`: a lost write, a
-- lost or rewritten sequence or epoch key shows as a link that does not match, because a lost
-- token never comes back.

-- A refusal: a WRONGTYPE error naming the key, after which nothing has been written.
local function refuse(key, what)
  return redis.error_reply('WRONGTYPE key ' .. key .. ' ' .. what .. '; nothing was changed')
end
-- What is wrong with a key that should hold a `want` ('hash', 'set', 'string'; 'none' = must not
-- exist), or nil: a key that does not exist is of every type.
local function wrongType(key, want)
  local t = redis.call('TYPE', key).ok
  if want == 'none' then
    if t ~= 'none' then return 'already exists (a ' .. t .. ')' end
    return nil
  end
  if t ~= 'none' and t ~= want then return 'holds a ' .. t .. ', not a ' .. want end
  return nil
end
-- The refusal for the first of `keys` ({key, type} pairs, checked in order) that holds another
-- type, or nil.
local function checkTypes(keys)
  for _, k in ipairs(keys) do
    local problem = wrongType(k[1], k[2])
    if problem then return refuse(k[1], problem) end
  end
  return nil
end
-- An integer in the canonical form INCR takes: "0", or decimal digits without a sign or a leading
-- zero ("05" and "-0" pass '^%d+$' but INCR refuses them), at most `digits` of them.
local function isIncrInteger(text, digits)
  return #text <= digits and (text == '0' or string.match(text, '^[1-9]%d*$') ~= nil)
end
-- A VERSION or a version floor: decimal digits (leading zeros allowed), at most 15 of them.
local function isCount(text)
  return string.match(text, '^%d+$') ~= nil and #text <= 15
end
-- A pair's VERSION ('0' when it has none). Returns the refusal, or nil and the VERSION's text.
local function versionOf(status)
  local version = redis.call('HGET', status, 'VERSION') or '0'
  if not isCount(version) then return refuse(status, 'has a VERSION that is not an integer') end
  return nil, version
end
-- The VERSION floor of a pair in the line's floors hash ('0' when it has none): the VERSION it had
-- when it was last deleted. Returns the refusal, or nil and the floor's text.
local function versionFloor(floors, connector)
  local floor = redis.call('HGET', floors, connector) or '0'
  if not isCount(floor) then
    return refuse(floors, 'has a floor for ' .. connector .. ' that is not an integer')
  end
  return nil, floor
end
-- A counter: missing, or a string INCR takes with at most `digits` digits. Returns what is wrong
-- with it, or nil and its text (nil when the key does not exist).
-- One GET (a pcall: another type is an answer, not an abort); TYPE only to name what is there.
local function counter(key, digits)
  local v = redis.pcall('GET', key)
  if type(v) == 'table' then return 'holds a ' .. redis.call('TYPE', key).ok .. ', not an integer' end
  if not v then return nil, nil end
  if not isIncrInteger(v, digits) then
    return 'holds a string that is not an integer'
  end
  return nil, v
end
-- Generation floors: the line's floors hash (…:ver) also keeps, under the generation key's own
-- name, the last value that generation had. A generation key that is gone (a stray DEL) restarts
-- above it, or at the server clock in microseconds when that is larger: never a value it had,
-- even on a server whose clock is behind the one that made those values.
local function floorOf(floors, genKey)
  local floor = redis.call('HGET', floors, genKey)
  if floor and not isIncrInteger(floor, 18) then
    return nil, 'has a floor for ' .. genKey .. ' that is not an integer'
  end
  return floor
end
-- A decimal integer plus one, exactly, as text (Lua numbers are doubles: exact only to 2^53,
-- and a generation may have 18 digits). `text` is canonical (see isIncrInteger).
local function plusOne(text)
  local i = #text
  while i > 0 and string.sub(text, i, i) == '9' do i = i - 1 end
  if i == 0 then return '1' .. string.rep('0', #text) end
  return string.sub(text, 1, i - 1) .. string.char(string.byte(text, i) + 1) .. string.rep('0', #text - i)
end
-- The generation a bump makes, as text, without writing: the current one plus one, or, for a
-- generation key that does not exist, one above its floor or the server clock in microseconds,
-- whichever is larger. Computed before the event is published, so the event can carry it.
local function nextGeneration(gen, floor)
  if gen then return plusOne(gen) end
  local t = redis.call('TIME')
  local clock = t[1] .. string.format('%06d', tonumber(t[2]))
  if floor and (#floor > #clock or (#floor == #clock and floor >= clock)) then return plusOne(floor) end
  return clock
end
-- Writes a generation made by nextGeneration and records it as the floor. Call only after every
-- check (and after the event).
local function bumpGeneration(genKey, floors, gen)
  redis.call('SET', genKey, gen, 'KEEPTTL')
  redis.call('HSET', floors, genKey, gen)
  return gen
end
-- A directory's generation key (a counter of at most 18 digits), the keys of `others` ({key,
-- type} pairs) and the line's floors hash, checked in that order. Returns the refusal, or nil,
-- the generation's text (nil when the key does not exist) and its floor.
local function checkDirectory(genKey, others, floors)
  local problem, gen = counter(genKey, 18)
  if problem then return refuse(genKey, problem) end
  others[#others + 1] = {floors, 'hash'}
  local refused = checkTypes(others)
  if refused then return refused end
  local genFloor, floorProblem = floorOf(floors, genKey)
  if floorProblem then return refuse(floors, floorProblem) end
  return nil, gen, genFloor
end
-- checkDirectory, then a generation that does not exist is created (above its floor, or from the
-- server clock). Returns the refusal, or nil and the current generation's text. Writes only after
-- every check, and only to create the generation.
local function currentGeneration(genKey, others, floors)
  local refused, gen, genFloor = checkDirectory(genKey, others, floors)
  if refused then return refused end
  if not gen then gen = bumpGeneration(genKey, floors, nextGeneration(nil, genFloor)) end
  return nil, gen
end
-- The line's epoch key (printable text of at most 64 bytes; missing = no event yet) and the new token
-- (16 lowercase hex digits, made by the client). Returns the refusal, or nil and the token the key
-- holds ('' when none): the event's `pep`.
local function checkEpoch(epKey, token)
  local pep = redis.pcall('GET', epKey)
  if type(pep) == 'table' then
    return refuse(epKey, 'holds a ' .. redis.call('TYPE', epKey).ok .. ', not a string')
  end
  pep = pep or ''
  -- Any other short printable text is read as a token that chains to nothing (a subscriber sees
  -- the break); longer or binary text is refused (it would not fit in the event's JSON).
  if #pep > 64 or string.find(pep, '[^\32-\126]') then
    return refuse(epKey, 'holds a string that is not a line epoch')
  end
  if #token ~= 16 or not string.match(token, '^[0-9a-f]+$') then
    return redis.error_reply('ERR a line epoch token must be 16 lowercase hex digits; nothing was changed')
  end
  return nil, pep
end
-- The line's event sequence (a counter of at most 15 digits) and its epoch key, checked in that
-- order. Returns the refusal, or nil, the sequence's text (nil when missing) and the epoch (`pep`).
local function checkChain(seq, epKey, token)
  local seqProblem, seqText = counter(seq, 15)
  if seqProblem then return refuse(seq, seqProblem) end
  local refused, pep = checkEpoch(epKey, token)
  if refused then return refused end
  return nil, seqText, pep
end
-- The keys a status write touches, checked in this order: the pair's status hash (nil: none), the
-- line's index and ready set (sets), its version floors (hash), its event sequence (a counter of
-- at most 15 digits) and epoch, the connector-info directory's generation (at most 18) and its
-- floor. Returns the refusal, or nil, the sequence's text, the epoch (`pep`), the generation's
-- text (nil when missing) and its floor.
local function checkLineKeys(status, index, ready, floors, seq, epKey, token, genKey)
  local keys = {{index, 'set'}, {ready, 'set'}, {floors, 'hash'}}
  if status then table.insert(keys, 1, {status, 'hash'}) end
  local refused = checkTypes(keys)
  if refused then return refused end
  local chainRefused, seqText, pep = checkChain(seq, epKey, token)
  if chainRefused then return chainRefused end
  local genProblem, genText = counter(genKey, 18)
  if genProblem then return refuse(genKey, genProblem) end
  local genFloor, floorProblem = floorOf(floors, genKey)
  if floorProblem then return refuse(floors, floorProblem) end
  return nil, seqText, pep, genText, genFloor
end
-- A decimal integer for the event JSON: a JSON number while cjson prints it exactly (at most 14
-- digits; what subscribers of the previous release decode), decimal text beyond.
local function wire(text)
  if #text <= 14 then return tonumber(text) end
  return text
end
-- Publishes an event before the first write. redis.pcall: a PUBLISH the ACL denies is an answer
-- here, not an abort. Returns nil, or the NOPERM refusal and the server's error text.
local function publishFirst(channel, message)
  local published = redis.pcall('PUBLISH', channel, message)
  if type(published) == 'table' and published.err then
    return redis.error_reply('NOPERM channel ' .. channel .. ' may not be published to (' .. published.err
      .. '); nothing was changed'), published.err
  end
  return nil
end
-- Publishes `event` (a table) before the first write, as publishFirst, with the chain fields:
-- `seq` (the sequence's new value, text), `pep` (the epoch it replaces) and `ep` (the new one).
local function announce(channel, event, seqOut, pep, ep)
  event.seq = wire(seqOut)
  event.pep = pep
  event.ep = ep
  return publishFirst(channel, cjson.encode(event))
end
-- Moves the line's chain after an announced write: the sequence to `seqOut`, the epoch to `ep`.
local function advanceChain(seq, epKey, seqOut, ep)
  redis.call('MSET', seq, seqOut, epKey, ep)
end
-- ---- end of the prelude; the script's own text follows.
