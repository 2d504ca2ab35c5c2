-- Prelude of every script that works on one thread. KEYS, all sharing the
-- thread's {hash tag}: 1 data hash, 2 checkpoint order, 3 write order,
-- 4 run references, 5 how each run's index key last had its lifetime set:
-- the time in ms it was given a TTL, or -1 once it was made persistent.
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
-- < 0: lifetimes stay as they are. Every write sets all five TTLs together,
-- so for a read the data hash stands for all of them: when its TTL has run
-- down by less than a thousandth (a turn reads right after the last one
-- wrote), nothing needs doing. A script that creates keys passes written, so
-- none is left without a TTL. Returns the score to record and the runs whose
-- index key must get the same lifetime so it outlives the thread: with a
-- TTL, those set more than half a TTL ago (or persisted); without, those
-- not yet persisted.
local function touch(ttl, written)
  if ttl < 0 then return {0, {}} end
  local left = written and -1 or redis.call('PTTL', D)
  if ttl == 0 then
    if not written and left < 0 then return {0, {}} end
    for i = 1, 5 do redis.call('PERSIST', KEYS[i]) end
    return {-1, redis.call('ZRANGEBYSCORE', T, '(-1', '+inf')}
  end
  if left == -2 or left >= ttl - math.floor(ttl / 1000) then return {0, {}} end
  for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end
  if redis.call('EXISTS', T) == 0 then return {0, {}} end
  local now = now_ms()
  return {now, redis.call('ZRANGEBYSCORE', T, '-inf', '(' .. ms(now - math.floor(ttl / 2)))}
end
