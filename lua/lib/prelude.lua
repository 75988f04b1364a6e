-- lua/lib/prelude.lua: the functions every write script shares (status_update, status_delete,
-- status_delete_line, cache_get, cache_set, cache_clean). Redis scripts cannot `require`, so the
-- library joins this text into each of them when it loads them (after a '#!lua' line, before the
-- script's own text); what Redis runs, and what its SHA1 names, is the joined text.
--
-- Redis never rolls a script back: every script checks every key it will touch (its type, and
-- the integer it reads) before its first write, publishes its event before its first write (an
-- ACL that denies the channel then leaves everything as it was), and only then writes.

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
local function counter(key, digits)
  local t = redis.call('TYPE', key).ok
  if t == 'none' then return nil, nil end
  if t ~= 'string' then return 'holds a ' .. t .. ', not an integer' end
  local v = redis.call('GET', key)
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
-- Writes the next generation (INCR, or the restart) and records it as the floor; returns it as
-- text. Call only after every check.
local function bumpGeneration(genKey, exists, floors, floor)
  if exists then
    redis.call('INCR', genKey)
  else
    local t = redis.call('TIME')
    local clock = t[1] .. string.format('%06d', tonumber(t[2]))
    if floor and (#floor > #clock or (#floor == #clock and floor >= clock)) then
      redis.call('SET', genKey, floor)
      redis.call('INCR', genKey)
    else
      redis.call('SET', genKey, clock)
    end
  end
  local gen = redis.call('GET', genKey)
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
  if not gen then gen = bumpGeneration(genKey, false, floors, genFloor) end
  return nil, gen
end
-- The keys a status write touches, checked in this order: the pair's status hash (nil: none), the
-- line's index and ready set (sets), its version floors (hash), its event sequence (a counter of
-- at most 15 digits), the connector-info directory's generation (at most 18) and its floor.
-- Returns the refusal, or nil, the sequence's text, the generation's text (nil when missing) and
-- its floor.
local function checkLineKeys(status, index, ready, floors, seq, genKey)
  local keys = {{index, 'set'}, {ready, 'set'}, {floors, 'hash'}}
  if status then table.insert(keys, 1, {status, 'hash'}) end
  local refused = checkTypes(keys)
  if refused then return refused end
  local seqProblem, seqText = counter(seq, 15)
  if seqProblem then return refuse(seq, seqProblem) end
  local genProblem, genText = counter(genKey, 18)
  if genProblem then return refuse(genKey, genProblem) end
  local genFloor, floorProblem = floorOf(floors, genKey)
  if floorProblem then return refuse(floors, floorProblem) end
  return nil, seqText, genText, genFloor
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
-- ---- end of the prelude; the script's own text follows.
