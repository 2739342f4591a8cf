-- Call graph of five functions, N = 2,000,000 rounds of 4 or 6 calls; prints 487998. Size: first argument.
local function leaf_a(x) return (x * 3 + 1) % 1000003 end
local function leaf_b(x) return (x + 7) % 1000003 end
local function mid_a(x) return leaf_a(x) + leaf_b(x) end
local function mid_b(x) return leaf_b(mid_a(x)) end

local function top(x, i)
  if i % 3 == 0 then return mid_a(x) end
  return mid_b(x)
end

local function rounds(n)
  local s = 0
  for i = 0, n - 1 do
    s = (s + top(s, i)) % 1000003
  end
  return s
end

print(string.format("%d", rounds(tonumber(arg[1]) or 2000000)))
