-- Move writes a worker gave up on to the dead letters, in one step.
--
-- KEYS[1] pending namespaces   KEYS[2] dead-letter stream
-- KEYS[3..7], only when the job is dropped with them: arq's queue, job key,
--   retry key, in-progress key, abort set.
-- ARGV[1] ops settled by this call as triples (namespace text, key, version):
--   their pending entries are forgotten (see forget.lua), so reads stop
--   showing writes that will never land.
-- ARGV[2] the job id (used when the job is dropped)
-- ARGV[3..] the entries, 8 values each: job_id, kind, error, tries, failed_at,
--   body field name ("op" or "payload"), body, and the payload's full size in
--   bytes when the body was cut short (else empty).
--
-- When dropping, nothing is buried unless the job is still there (a job
-- another call already settled is not buried twice), but arq's keys of it
-- always go, so a job whose key vanished does not come back.
if #KEYS > 2 then
  local present = redis.call('EXISTS', KEYS[4]) == 1
  redis.call('DEL', KEYS[4], KEYS[5], KEYS[6])
  redis.call('ZREM', KEYS[3], ARGV[2])
  redis.call('ZREM', KEYS[7], ARGV[2])
  if not present then
    return 0
  end
end
forget_pending(ARGV[1], KEYS[1])
local buried = 0
for i = 3, #ARGV, 8 do
  local fields = {
    'job_id', ARGV[i], 'kind', ARGV[i + 1], 'error', ARGV[i + 2],
    'tries', ARGV[i + 3], 'failed_at', ARGV[i + 4], ARGV[i + 5], ARGV[i + 6],
  }
  if ARGV[i + 7] ~= '' then
    fields[#fields + 1] = 'payload_bytes'
    fields[#fields + 1] = ARGV[i + 7]
  end
  redis.call('XADD', KEYS[2], '*', unpack(fields))
  buried = buried + 1
end
return buried
