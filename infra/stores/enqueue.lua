-- Accept a group of store writes in one step: versions, pending entries, one arq job.
--
-- No KEYS. ARGV[1] job id
-- ARGV[2] the ops as triples (see triples.lua): namespace text, key, and the
--         op JSON without its version, written_at and closing brace.
-- Constants defined in front of this text (see scripts.py): the queue's keys
-- VERSION_KEY (version counter), QUEUE_KEY (arq queue, a sorted set),
-- PENDING_KEY (pending namespaces, a sorted set) and JOB_KEY_PREFIX (arq's
-- job keys); JOB_HEAD, JOB_OPS, JOB_TAIL (arq's envelope around "et" and the
-- ops) and ENTRIES (prefix of the per-namespace pending hashes). A pending
-- entry is the write's version, a space, and its op JSON.
--
-- Two arguments, the ops in one, and every key named here:
-- a client encodes each argument on its own, which costs more than the
-- script. Like arq's own keys, this assumes one Redis, not a cluster.
--
-- Versions come from one clock, Redis's: max(last + 1, now in microseconds), so
-- they grow in the order Redis accepts writes even if the counter is lost.
-- Values are never decoded here: cjson would turn [] into {}.
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', VERSION_KEY) or '0')
local version = math.max(last + 1, now_us)
local v = string.format('%.0f', version)
local first = v
local tail = ',"written_at":' .. string.format('%.0f', now_us) .. '}'
-- The job's ops list is built from pieces (a separator, the fragment, the
-- version and written_at) by one table.concat: no op string of its own.
local pieces = {}
local n = 0
local seen = {}
-- The namespaces of the group, as ZADD's score-member pairs: one call for all.
local names = {}
each_triple(ARGV[2], function(ns, key, fragment)
  if n > 0 then
    v = string.format('%.0f', version)
    n = n + 1
    pieces[n] = ','
  end
  local suffix = ',"version":' .. v .. tail
  pieces[n + 1] = fragment
  pieces[n + 2] = suffix
  n = n + 2
  redis.call('HSET', ENTRIES .. ns, key, v .. ' ' .. fragment .. suffix)
  if not seen[ns] then
    seen[ns] = true
    names[#names + 1] = 0
    names[#names + 1] = ns
  end
  version = version + 1
end)
redis.call('ZADD', PENDING_KEY, unpack(names))
redis.call('SET', VERSION_KEY, v)
local et = string.format('%.0f', math.floor(now_us / 1000))
redis.call('SET', JOB_KEY_PREFIX .. ARGV[1], JOB_HEAD .. et .. JOB_OPS .. table.concat(pieces) .. JOB_TAIL)
redis.call('ZADD', QUEUE_KEY, et, ARGV[1])
return first
