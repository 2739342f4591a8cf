-- Binary trees (make/check), maximum depth D = 16 by default; prints 14723759. Size: first argument.
-- A node is a two-slot table {left, right}; a leaf keeps both slots nil.
local function make(depth)
  local node = {nil, nil}
  if depth > 0 then
    node[1] = make(depth - 1)
    node[2] = make(depth - 1)
  end
  return node
end

local function check(node)
  if node[1] == nil then return 1 end
  return 1 + check(node[1]) + check(node[2])
end

local function trees(max_depth)
  local long_lived = make(max_depth)
  local total = 0
  local depth = 4
  while depth <= max_depth do
    local iterations = 1
    for _ = 0, max_depth - depth + 4 - 1 do iterations = iterations * 2 end
    for _ = 0, iterations - 1 do
      total = total + check(make(depth))
    end
    depth = depth + 2
  end
  return total + check(long_lived)
end

print(string.format("%d", trees(tonumber(arg[1]) or 16)))
