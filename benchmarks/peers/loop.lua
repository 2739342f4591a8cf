-- sum = (sum + i) % 1000003 for i in 0..N-1; prints 45150 for N = 100,000,000. Size: first argument.
local n = tonumber(arg[1]) or 100000000
local sum, i = 0, 0
while i < n do
  sum = (sum + i) % 1000003
  i = i + 1
end
print(sum)
