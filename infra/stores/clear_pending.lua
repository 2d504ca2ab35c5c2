-- After a commit, forget the pending entries it made durable: compare-and-delete.
--
-- KEYS[1] pending namespaces (sorted set)
-- KEYS[1 + 2j - 1], KEYS[1 + 2j]  pending entries and versions of namespace j
-- ARGV[1] m, the number of namespaces   ARGV[2 .. 1 + m] their texts
-- then per committed op: namespace index j, key, version
--
-- An entry goes only if its version is not newer than the committed one: a
-- write queued since then must stay visible until it is committed too.
local m = tonumber(ARGV[1])
local cleared = 0
local i = 2 + m
while i <= #ARGV do
  local j = tonumber(ARGV[i])
  local key = ARGV[i + 1]
  local pending = redis.call('HGET', KEYS[1 + 2 * j], key)
  if pending and tonumber(pending) <= tonumber(ARGV[i + 2]) then
    redis.call('HDEL', KEYS[2 * j], key)
    redis.call('HDEL', KEYS[1 + 2 * j], key)
    cleared = cleared + 1
  end
  i = i + 3
end
for j = 1, m do
  if redis.call('HLEN', KEYS[2 * j]) == 0 then
    redis.call('ZREM', KEYS[1], ARGV[1 + j])
  end
end
return cleared
