local hoard = {}
local i = 0
while true do
    i = i + 1
    hoard[i] = string.rep("x", 1024) .. i
end
