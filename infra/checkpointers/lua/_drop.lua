-- Remove checkpoints ('ns\0id' members) with their writes and run references,
-- forget them as parents, and delete the blobs no remaining checkpoint of
-- their namespace uses. Returns the runs left without a checkpoint here.
local function drop(members)
  local gone, freed, namespaces, runs = {}, {}, {}, {}
  for _, m in ipairs(members) do
    if redis.call('ZREM', C, m) == 1 then
      local ns = ns_of(m)
      gone[m], namespaces[ns] = true, true
      local raw = redis.call('HGET', D, 'm' .. Z .. m)
      if raw then
        local man = cjson.decode(raw)
        for _, pair in ipairs(man.b or {}) do freed[#freed + 1] = blob_field(ns, pair) end
        if man.u then
          redis.call('ZREM', R, man.u .. Z .. m)
          runs[man.u] = true
        end
      end
      redis.call('HDEL', D, 'c' .. Z .. m, 'k' .. Z .. m, 'm' .. Z .. m)
      for _, w in ipairs(under(W, m)) do redis.call('HDEL', D, 'w' .. Z .. w) end
      redis.call('ZREMRANGEBYLEX', W, '[' .. m .. Z, '(' .. m .. '\1')
    end
  end
  local used = {}
  for ns in pairs(namespaces) do
    for _, m in ipairs(under(C, ns)) do
      local raw = redis.call('HGET', D, 'm' .. Z .. m)
      if raw then
        local man = cjson.decode(raw)
        for _, pair in ipairs(man.b or {}) do used[blob_field(ns, pair)] = true end
        if man.p and gone[ns .. Z .. man.p] then
          man.p = nil
          redis.call('HSET', D, 'm' .. Z .. m, cjson.encode(man))
        end
      end
    end
  end
  for _, field in ipairs(freed) do
    if not used[field] then redis.call('HDEL', D, field) end
  end
  local vanished = {}
  for run in pairs(runs) do
    if #redis.call('ZRANGEBYLEX', R, '[' .. run .. Z, '(' .. run .. '\1', 'LIMIT', 0, 1) == 0 then
      redis.call('ZREM', T, run)
      vanished[#vanished + 1] = run
    end
  end
  return vanished
end
