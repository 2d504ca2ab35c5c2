-- Shared by the write-queue scripts (prepended to each): ops travel as one
-- argument of NUL-separated triples, since no namespace, key, version or JSON
-- text contains a NUL byte. Calls fn(first, second, third) for each triple.
local function each_triple(blob, fn)
  local size = #blob
  local pos = 1
  while pos <= size do
    local a = string.find(blob, '\0', pos, true)
    local b = string.find(blob, '\0', a + 1, true)
    local c = string.find(blob, '\0', b + 1, true) or (size + 1)
    fn(string.sub(blob, pos, a - 1), string.sub(blob, a + 1, b - 1), string.sub(blob, b + 1, c - 1))
    pos = c + 1
  end
end
