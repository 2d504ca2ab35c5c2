-- Prelude of every script that works on one thread. KEYS, all sharing the
-- thread's {hash tag}: 1 data hash, 2 checkpoint order, 3 write order,
-- 4 run references, 5 when each run's index key was last given a TTL.
-- Member names: a checkpoint is 'ns\0id', a write 'ns\0id\0task\0idx'.
-- Field names in the data hash mirror infra/checkpointers/keys.py, which
-- writes them (puts are MULTI/EXEC transactions, not scripts).
local D, C, W, R, T = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local Z = '\0'

local function ms(n)
  return string.format('%.0f', n)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function ns_of(member)
  return member:match('^(.*)%z')
end

local function blob_field(ns, pair)
  return 'v' .. Z .. ns .. Z .. pair[1] .. Z .. pair[2]
end

-- The members of a sorted set that start with prefix .. '\0'.
local function under(key, prefix)
  return redis.call('ZRANGEBYLEX', key, '[' .. prefix .. Z, '(' .. prefix .. '\1')
end

-- ttl > 0: every key of the thread expires ttl ms from now; 0: none expires;
-- < 0: lifetimes stay as they are. A key already set to expire within the
-- last ttl/1000 ms is left alone (a turn makes six calls in a few ms), but a
-- key without a TTL always gets one. Returns the server time and the runs
-- whose index key must have its TTL pushed back so it outlives the thread.
local function touch(ttl)
  if ttl < 0 then return {0, {}} end
  local fresh = ttl - math.floor(ttl / 1000)
  for i = 1, 5 do
    local left = redis.call('PTTL', KEYS[i])
    if ttl == 0 then
      if left >= 0 then redis.call('PERSIST', KEYS[i]) end
    elseif left == -1 or (left >= 0 and left < fresh) then
      redis.call('PEXPIRE', KEYS[i], ttl)
    end
  end
  if ttl == 0 or redis.call('EXISTS', T) == 0 then return {0, {}} end
  local now = now_ms()
  return {now, redis.call('ZRANGEBYSCORE', T, '-inf', '(' .. ms(now - math.floor(ttl / 2)))}
end
