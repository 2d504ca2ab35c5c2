-- Everything a thread holds, for copying it. ARGV[1]: ttl (< 0: no refresh).
return {
  redis.call('HGETALL', D), redis.call('ZRANGE', C, 0, -1), redis.call('ZRANGE', W, 0, -1),
  redis.call('ZRANGE', R, 0, -1), redis.call('ZRANGE', T, 0, -1), touch(tonumber(ARGV[1])),
}
