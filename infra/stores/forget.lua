-- Shared by the scripts that settle writes (prepended after triples.lua):
-- forget the pending entries of settled writes, compare-and-delete.
--
-- blob: the settled ops as triples (see triples.lua): namespace text, key, version.
-- namespaces: the sorted set of namespaces with pending entries.
-- ENTRIES (prefix of the pending hashes) is defined in front; an entry starts
-- with its version and a space.
--
-- An entry goes only if its version is not newer than the settled one: a
-- write queued since then must stay visible until it is settled too.
local function forget_pending(blob, namespaces)
  local touched = {}
  local cleared = 0
  each_triple(blob, function(ns, key, version)
    local entry = redis.call('HGET', ENTRIES .. ns, key)
    if entry and tonumber(string.match(entry, '^%d+')) <= tonumber(version) then
      redis.call('HDEL', ENTRIES .. ns, key)
      touched[ns] = true
      cleared = cleared + 1
    end
  end)
  for ns in pairs(touched) do
    if redis.call('HLEN', ENTRIES .. ns) == 0 then
      redis.call('ZREM', namespaces, ns)
    end
  end
  return cleared
end
