-- ARGV[1] 'check': error DELTA if the thread uses a DeltaChannel, whose
-- history keep_latest would cut. 'keep_latest': keep the newest checkpoint of
-- each namespace; a subgraph call's namespace ('node:task') goes with the root
-- checkpoint it started from once that one is pruned.
if redis.call('HEXISTS', D, 'delta') == 1 then return redis.error_reply('DELTA') end
if ARGV[1] == 'check' then return {} end
local all = redis.call('ZRANGE', C, 0, -1)
local heads = {}
for _, m in ipairs(all) do heads[ns_of(m)] = m end
local calls = {}
for ns, head in pairs(heads) do
  if ns:find(':', 1, true) then
    local raw = redis.call('HGET', D, 'm' .. Z .. head)
    local root = raw and cjson.decode(raw).r
    if root and heads[''] ~= Z .. root and redis.call('ZSCORE', C, Z .. root) then
      calls[ns] = true
    end
  end
end
local doomed = {}
for _, m in ipairs(all) do
  local ns = ns_of(m)
  if calls[ns] or heads[ns] ~= m then doomed[#doomed + 1] = m end
end
return drop(doomed)
