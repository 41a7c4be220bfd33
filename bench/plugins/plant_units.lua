-- Benchmark plant: `units` units (numbered from `first`) with `points` points each, every
-- point published once per `period` seconds, spread evenly over the period.
local p = hub.params
local first, units, points, period = p.first or 1, p.units or 50, p.points or 20, p.period or 1
local paths = {}
for u = first, first + units - 1 do
    for k = 1, points do paths[#paths + 1] = "/plant/unit-" .. u .. "/p" .. k end
end
local slices = 20
local per = math.ceil(#paths / slices)
local n = 0
while true do
    n = n + 1
    for s = 0, slices - 1 do
        for i = s * per + 1, math.min((s + 1) * per, #paths) do hub.publish(paths[i], n + i * 0.001) end
        if not hub.sleep(period / slices) then return end
    end
end
