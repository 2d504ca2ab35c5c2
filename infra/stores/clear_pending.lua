-- After a commit, forget the pending entries it made durable: compare-and-delete.
--
-- KEYS[1] pending namespaces (sorted set)
-- ARGV[1] the committed ops as triples (see triples.lua): namespace text, key, version.
-- ENTRIES and VERSIONS (prefixes of the pending hashes) are defined in front.
--
-- An entry goes only if its version is not newer than the committed one: a
-- write queued since then must stay visible until it is committed too.
local touched = {}
local cleared = 0
each_triple(ARGV[1], function(ns, key, version)
  local pending = redis.call('HGET', VERSIONS .. ns, key)
  if pending and tonumber(pending) <= tonumber(version) then
    redis.call('HDEL', ENTRIES .. ns, key)
    redis.call('HDEL', VERSIONS .. ns, key)
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
