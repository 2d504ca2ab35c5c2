-- Record that a thread has checkpoints of this run, and set the run index
-- key's TTL in the same step. KEYS[1]: the run's index key.
-- ARGV: ttl (0: never expires), then thread ids.
for i = 2, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return 1
