-- Add what dump.lua returned to this thread, then give its keys their TTL.
-- ARGV: ttl, then the counts of hash items, checkpoints, writes, run refs and
-- runs, then those items in that order.
local counts, at = {}, 7
for i = 1, 5 do counts[i] = tonumber(ARGV[i + 1]) end
local function take(n)
  local first = at
  at = at + n
  return first, at - 1
end
local first, last = take(counts[1])
for i = first, last, 2 do redis.call('HSET', D, ARGV[i], ARGV[i + 1]) end
for idx, key in ipairs({C, W, R}) do
  first, last = take(counts[idx + 1])
  for i = first, last do redis.call('ZADD', key, 0, ARGV[i]) end
end
first, last = take(counts[5])
if last >= first then
  local score = tonumber(ARGV[1]) > 0 and ms(now_ms()) or '-1'
  for i = first, last do redis.call('ZADD', T, score, ARGV[i]) end
end
return touch(tonumber(ARGV[1]), true)
