-- Put dead-lettered ops back on the queue with their own versions, in one step.
--
-- KEYS[1] dead-letter stream   KEYS[2] arq queue (sorted set)
-- KEYS[3] arq job key          KEYS[4] pending namespaces (sorted set)
-- ARGV[1] job id
-- ARGV[2..] 5 values per op: the entry id, namespace text, key, version, op JSON.
-- JOB_HEAD, JOB_OPS, JOB_TAIL and ENTRIES are defined in front (see scripts.py).
--
-- An entry is taken only if it is still in the stream (a concurrent replay or
-- purge took it otherwise), and deleted with the same step, so an op is
-- replayed at most once. A pending entry is set only where none as new
-- exists: a write accepted since keeps what reads show. Returns the ids taken.
local taken = {}
local ops = {}
for i = 2, #ARGV, 5 do
  local id, ns, key, version, op = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  if #redis.call('XRANGE', KEYS[1], id, id) > 0 then
    redis.call('XDEL', KEYS[1], id)
    local entry = redis.call('HGET', ENTRIES .. ns, key)
    if not entry or tonumber(string.match(entry, '^%d+')) < tonumber(version) then
      redis.call('HSET', ENTRIES .. ns, key, version .. ' ' .. op)
      redis.call('ZADD', KEYS[4], 0, ns)
    end
    taken[#taken + 1] = id
    ops[#ops + 1] = op
  end
end
if #ops > 0 then
  local t = redis.call('TIME')
  local et = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
  redis.call('SET', KEYS[3], JOB_HEAD .. et .. JOB_OPS .. table.concat(ops, ',') .. JOB_TAIL)
  redis.call('ZADD', KEYS[2], et, ARGV[1])
end
return taken
