-- Sieve up to N = 2,000,000, 5 repetitions; prints 148933. Size: first argument.
local n = tonumber(arg[1]) or 2000000
local count = 0
for _ = 1, 5 do
  local flags = {}
  for i = 2, n do flags[i] = true end
  local i = 2
  while i * i <= n do
    if flags[i] then
      local j = i * i
      while j <= n do flags[j] = false; j = j + i end
    end
    i = i + 1
  end
  count = 0
  for k = 2, n do if flags[k] then count = count + 1 end end
end
print(count)
