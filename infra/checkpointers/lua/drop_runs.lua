-- Remove the checkpoints of the given runs (ARGV) from the thread.
local members = {}
for _, run in ipairs(ARGV) do
  for _, ref in ipairs(under(R, run)) do members[#members + 1] = ref:sub(#run + 2) end
end
return drop(members)
