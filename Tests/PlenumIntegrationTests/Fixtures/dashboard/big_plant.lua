-- A large plant: `lines` × `units` units of ten points each (10 × 100 × 10 = 10,000 channels),
-- every point published once a second.
local p = hub.params
local lines, units = p.lines or 10, p.units or 100
local names = { "supply_temp", "return_temp", "valve_pct", "fan_pct", "power_kw", "filter_dp", "flow_m3h",
                "pressure_kpa", "humidity", "run_hours" }
local paths = {}
for l = 1, lines do
    for u = 1, units do
        for i, name in ipairs(names) do
            paths[#paths + 1] = { "line" .. l .. "/unit" .. u .. "/" .. name, (l * 7 + u * 3 + i) % 17 }
        end
    end
end
local t = 0
repeat
    for _, point in ipairs(paths) do
        hub.publish(point[1], math.floor((20 + point[2] + math.sin(t / 7 + point[2])) * 100 + 0.5) / 100)
    end
    t = t + 1
until not hub.sleep(p.period or 1)
