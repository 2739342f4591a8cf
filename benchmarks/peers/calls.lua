-- s = add3(s, i, 1) for i in 0..N-1; prints 50000005000000 for N = 10,000,000. Size: first argument.
local function add3(a, b, c) return a + b + c end
local n = tonumber(arg[1]) or 10000000
local s = 0
for i = 0, n - 1 do s = add3(s, i, 1) end
print(s)
