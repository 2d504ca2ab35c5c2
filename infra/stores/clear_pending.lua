-- After a commit, forget the pending entries it made durable: compare-and-delete.
--
-- KEYS[1] pending namespaces (sorted set)
-- ARGV[1] prefix of pending-entries hashes   ARGV[2] prefix of pending-versions hashes
-- ARGV[3] the committed ops as triples (see triples.lua): namespace text, key, version.
--
-- An entry goes only if its version is not newer than the committed one: a
-- write queued since then must stay visible until it is committed too.
local touched = {}
local cleared = 0
each_triple(ARGV[3], function(ns, key, version)
  local pending = redis.call('HGET', ARGV[2] .. ns, key)
  if pending and tonumber(pending) <= tonumber(version) then
    redis.call('HDEL', ARGV[1] .. ns, key)
    redis.call('HDEL', ARGV[2] .. ns, key)
    touched[ns] = true
    cleared = cleared + 1
  end
end)
for ns in pairs(touched) do
  if redis.call('HLEN', ARGV[1] .. ns) == 0 then
    redis.call('ZREM', KEYS[1], ns)
  end
end
return cleared
