-- Shared by the scripts that settle writes (prepended after triples.lua):
-- forget the pending entries of settled writes, compare-and-delete.
--
-- blob: the settled ops as triples (see triples.lua): namespace text, key, version.
-- namespaces: the sorted set of namespaces with pending entries.
-- ENTRIES (prefix of the pending hashes) is defined in front; an entry starts
-- with its version and a space.
--
-- An entry goes only if its version is not newer than the settled one: a
-- write queued since then must stay visible until it is settled too. The
-- ops are grouped by namespace first: a group commit settles many keys of
-- each namespace, and one HMGET and one HDEL per namespace cost far less
-- than two calls per op.
local function forget_pending(blob, namespaces)
  local keys_of = {}
  local versions_of = {}
  each_triple(blob, function(ns, key, version)
    local keys = keys_of[ns]
    if not keys then
      keys = {}
      keys_of[ns] = keys
      versions_of[ns] = {}
    end
    keys[#keys + 1] = key
    versions_of[ns][#keys] = tonumber(version)
  end)
  local cleared = 0
  for ns, keys in pairs(keys_of) do
    local hash = ENTRIES .. ns
    local versions = versions_of[ns]
    -- In slices: unpack is bounded by Lua's stack (8000 values).
    for first = 1, #keys, 1000 do
      local last = math.min(first + 999, #keys)
      local entries = redis.call('HMGET', hash, unpack(keys, first, last))
      local gone = {}
      for i = first, last do
        local entry = entries[i - first + 1]
        if entry and tonumber(string.match(entry, '^%d+')) <= versions[i] then
          gone[#gone + 1] = keys[i]
        end
      end
      if #gone > 0 then
        cleared = cleared + redis.call('HDEL', hash, unpack(gone))
      end
    end
    if redis.call('HLEN', hash) == 0 then
      redis.call('ZREM', namespaces, ns)
    end
  end
  return cleared
end
