-- Benchmark for the MQTT bridge: publishes `channels` channels round-robin for `seconds`, in
-- batches of 1000, at most `rate` publishes per second (0: as fast as the thread can).
local p = hub.params
local n, seconds, rate = p.channels or 10000, p.seconds or 10, p.rate or 0
local paths = {}
for i = 1, n do paths[i] = "/bench/burst/c" .. i end
hub.sleep(p.delay or 1)
local t0 = hub.monotonic()
local k = 0
while true do
    local now = hub.monotonic()
    if now - t0 >= seconds then break end
    for _ = 1, 1000 do
        k = k + 1
        hub.publish(paths[k % n + 1], k)
    end
    if rate > 0 then
        local ahead = k / rate - (hub.monotonic() - t0)
        if not hub.sleep(ahead > 0 and ahead or 0) then return end
    elseif not hub.sleep(0) then
        return
    end
end
hub.publish("/bench/burst/calls", k)
while hub.sleep(1) do end
