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
        if not hub.sleep(math.min(1 / rate, 0.001)) then return end
    end
end
