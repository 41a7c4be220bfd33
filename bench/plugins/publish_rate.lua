-- Benchmark: hub.publish calls per second on one device thread, to one channel, measured for
-- `seconds`; the result is published to `rate` (and the count to `calls`).
local seconds = hub.params.seconds or 3
hub.sleep(hub.params.delay or 1)
local t0 = hub.monotonic()
local n = 0
while true do
    for _ = 1, 10000 do
        n = n + 1
        hub.publish("value", n)
    end
    if hub.monotonic() - t0 >= seconds then break end
    hub.sleep(0)
end
local elapsed = hub.monotonic() - t0
hub.publish("calls", n)
hub.publish("rate", n / elapsed)
while hub.sleep(1) do end
