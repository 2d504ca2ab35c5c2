-- Accept a group of store writes in one step: versions, pending entries, one arq job.
--
-- KEYS[1] version counter        KEYS[2] arq queue (sorted set)
-- KEYS[3] arq job key            KEYS[4] pending namespaces (sorted set)
-- KEYS[4 + 2j - 1], KEYS[4 + 2j]  pending entries and versions of namespace j
-- ARGV[1] job id   ARGV[2] envelope head (up to "et":)   ARGV[3] ops opening
-- ARGV[4] envelope tail   ARGV[5] m, the number of namespaces   ARGV[6 .. 5 + m] their texts
-- then per op: namespace index j, key, op JSON without version, written_at and "}"
--
-- Versions come from one clock, Redis's: max(last + 1, now in microseconds), so
-- they grow in the order Redis accepts writes even if the counter is lost.
-- Values are never decoded here: cjson would turn [] into {}.
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local version = math.max(last + 1, now_us)
local first = version
local written = string.format('%.0f', now_us)
local m = tonumber(ARGV[5])
local ops = {}
local i = 6 + m
while i <= #ARGV do
  local j = tonumber(ARGV[i])
  local v = string.format('%.0f', version)
  local op = ARGV[i + 2] .. ',"version":' .. v .. ',"written_at":' .. written .. '}'
  ops[#ops + 1] = op
  redis.call('HSET', KEYS[3 + 2 * j], ARGV[i + 1], op)
  redis.call('HSET', KEYS[4 + 2 * j], ARGV[i + 1], v)
  version = version + 1
  i = i + 3
end
redis.call('SET', KEYS[1], string.format('%.0f', version - 1))
for j = 1, m do
  redis.call('ZADD', KEYS[4], 0, ARGV[5 + j])
end
local et = string.format('%.0f', math.floor(now_us / 1000))
redis.call('SET', KEYS[3], ARGV[2] .. et .. ARGV[3] .. table.concat(ops, ',') .. ARGV[4])
redis.call('ZADD', KEYS[2], et, ARGV[1])
return string.format('%.0f', first)
