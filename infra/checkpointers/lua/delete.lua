-- Remove every key of the thread; return the runs it had, whose index keys
-- must forget it.
local runs = redis.call('ZRANGE', T, 0, -1)
redis.call('UNLINK', D, C, W, R, T)
return runs
