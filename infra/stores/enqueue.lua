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
local first = string.format('%.0f', version)
local tail = ',"written_at":' .. string.format('%.0f', now_us) .. '}'
local et = string.format('%.0f', math.floor(now_us / 1000))

-- One write, what an idle producer sends: the same keys and text as a
-- group of one below, in straight lines. The tables and the callback a
-- group needs were a third of this script's time for a single write.
local ops = ARGV[2]
local a = string.find(ops, '\0', 1, true)
local b = string.find(ops, '\0', a + 1, true)
if not string.find(ops, '\0', b + 1, true) then
  local ns = string.sub(ops, 1, a - 1)
  local op = string.sub(ops, b + 1) .. ',"version":' .. first .. tail
  redis.call('HSET', ENTRIES .. ns, string.sub(ops, a + 1, b - 1), first .. ' ' .. op)
  redis.call('ZADD', PENDING_KEY, 0, ns)
  redis.call('SET', VERSION_KEY, first)
  redis.call('SET', JOB_KEY_PREFIX .. ARGV[1], JOB_HEAD .. et .. JOB_OPS .. op .. JOB_TAIL)
  redis.call('ZADD', QUEUE_KEY, et, ARGV[1])
  return first
end

-- The ops' versions follow each other: a version's text is the text of its
-- hundreds, formatted once per hundred, and its last two digits from a table
-- (string.format per op was a tenth of this script's time), made only for a
-- group: a single write needs none.
local digits
local low = version % 100
local hundreds = string.sub(first, 1, -3)
local two = string.sub(first, -2)
-- The job's ops list is built from pieces by one table.concat: no op string
-- of its own. A pending entry is one concatenation.
local pieces = {}
local n = 0
-- The pending hash of each namespace of the group, and ZADD's score-member
-- pairs for the namespaces: one call for all.
local hashes = {}
local names = {}
each_triple(ops, function(ns, key, fragment)
  if n > 0 then
    low = low + 1
    if low == 100 then
      low = 0
      hundreds = string.sub(string.format('%.0f', version), 1, -3)
    end
    if not digits then
      digits = {
        [0] = '00', '01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19',
        '20', '21', '22', '23', '24', '25', '26', '27', '28', '29', '30', '31', '32', '33', '34', '35', '36', '37', '38', '39',
        '40', '41', '42', '43', '44', '45', '46', '47', '48', '49', '50', '51', '52', '53', '54', '55', '56', '57', '58', '59',
        '60', '61', '62', '63', '64', '65', '66', '67', '68', '69', '70', '71', '72', '73', '74', '75', '76', '77', '78', '79',
        '80', '81', '82', '83', '84', '85', '86', '87', '88', '89', '90', '91', '92', '93', '94', '95', '96', '97', '98', '99',
      }
    end
    two = digits[low]
    n = n + 1
    pieces[n] = ','
  end
  local hash = hashes[ns]
  if not hash then
    hash = ENTRIES .. ns
    hashes[ns] = hash
    names[#names + 1] = 0
    names[#names + 1] = ns
  end
  redis.call('HSET', hash, key, hundreds .. two .. ' ' .. fragment .. ',"version":' .. hundreds .. two .. tail)
  pieces[n + 1] = fragment
  pieces[n + 2] = ',"version":'
  pieces[n + 3] = hundreds
  pieces[n + 4] = two
  pieces[n + 5] = tail
  n = n + 5
  version = version + 1
end)
redis.call('ZADD', PENDING_KEY, unpack(names))
redis.call('SET', VERSION_KEY, string.format('%.0f', version - 1))
redis.call('SET', JOB_KEY_PREFIX .. ARGV[1], JOB_HEAD .. et .. JOB_OPS .. table.concat(pieces) .. JOB_TAIL)
redis.call('ZADD', QUEUE_KEY, et, ARGV[1])
return first
