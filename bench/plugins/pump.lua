-- Benchmark producer: publishes an increasing integer to `channels` channels (c1 … cN) at
-- `rate_hz` versions per second each (0 = as fast as the store allows), keeping the average
-- rate exact by counting from the start rather than trusting each sleep.
local p = hub.params
local count = p.channels or 1
local rate = p.rate_hz or 10
local names = {}
for i = 1, count do names[i] = "c" .. i end
local n = 0
local t0 = hub.monotonic()
while true do
    if rate == 0 then
        for _ = 1, 1000 do
            n = n + 1
            for i = 1, count do hub.publish(names[i], n) end
        end
        if not hub.sleep(0) then return end
    else
        local due = math.floor((hub.monotonic() - t0) * rate)
        while n < due do
            n = n + 1
            for i = 1, count do hub.publish(names[i], n) end
        end
        -- Until the next version is due, but at least 1 ms (at high rates one wake-up publishes
        -- several): a 10 Hz producer wakes 10 times a second, not 1,000.
        local wait = math.max(0.001, t0 + (n + 1) / rate - hub.monotonic())
        if not hub.sleep(wait) then return end
    end
end
