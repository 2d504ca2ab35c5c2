-- After a commit, forget the pending entries it made durable: compare-and-delete.
--
-- KEYS[1] pending namespaces (sorted set)
-- ARGV[1] the committed ops as triples (see triples.lua): namespace text, key, version.
-- ENTRIES (prefix of the pending hashes) is defined in front; an entry starts
-- with its version and a space.
--
-- An entry goes only if its version is not newer than the committed one: a
-- write queued since then must stay visible until it is committed too.
local touched = {}
local cleared = 0
each_triple(ARGV[1], function(ns, key, version)
  local entry = redis.call('HGET', ENTRIES .. ns, key)
  if entry and tonumber(string.match(entry, '^%d+')) <= tonumber(version) then
    redis.call('HDEL', ENTRIES .. ns, key)
    touched[ns] = true
    cleared = cleared + 1
  end
end)
for ns in pairs(touched) do
  if redis.call('HLEN', ENTRIES .. ns) == 0 then
    redis.call('ZREM', KEYS[1], ns)
  end
end
return cleared
