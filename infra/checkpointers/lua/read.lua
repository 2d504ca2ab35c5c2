-- Checkpoints of one thread, newest first, each with its blobs and writes.
-- ARGV: ttl (< 0: no refresh), mode, then
--   mode 'ns':      namespace, ids below this one ('' = no bound), at most n
--   mode 'members': the checkpoints named ('ns\0id'), those that exist
local mode = ARGV[2]
local members = {}
if mode == 'ns' then
  local ns = ARGV[3]
  local hi = ARGV[4] == '' and ('(' .. ns .. '\1') or ('(' .. ns .. Z .. ARGV[4])
  members = redis.call('ZREVRANGEBYLEX', C, hi, '[' .. ns .. Z, 'LIMIT', 0, tonumber(ARGV[5]))
else
  for i = 3, #ARGV do
    if redis.call('ZSCORE', C, ARGV[i]) then members[#members + 1] = ARGV[i] end
  end
end

local out = {}
for i, m in ipairs(members) do
  local ns_m = ns_of(m)
  local rec = redis.call('HMGET', D, 'c' .. Z .. m, 'k' .. Z .. m, 'm' .. Z .. m)
  local blobs, wvals = {}, {}
  if rec[3] then
    local fields = {}
    for j, pair in ipairs(cjson.decode(rec[3]).b or {}) do fields[j] = blob_field(ns_m, pair) end
    if #fields > 0 then blobs = redis.call('HMGET', D, unpack(fields)) end
  end
  local wmembers = under(W, m)
  if #wmembers > 0 then
    local fields = {}
    for j, w in ipairs(wmembers) do fields[j] = 'w' .. Z .. w end
    wvals = redis.call('HMGET', D, unpack(fields))
  end
  out[i] = {m, rec[1], rec[2], rec[3], blobs, wmembers, wvals}
end
return {touch(tonumber(ARGV[1])), out}
