-- Sorts a big table: table.sort is C, which the CPU guard cannot interrupt.
local t = {}
for i = 1, hub.params.n do
    t[i] = (i * 7919) % 1000003
    if i % 50000 == 0 then hub.sleep(0) end
end
hub.sleep(0)
table.sort(t)
hub.publish("sorted", true)
