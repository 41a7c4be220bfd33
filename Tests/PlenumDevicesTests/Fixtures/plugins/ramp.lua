-- Publishes start + rate * t (t in seconds since start), plus optional Gaussian noise.
local p = hub.params
local t0 = hub.monotonic()
while hub.sleep(p.period or 0.05) do
    local t = hub.monotonic() - t0
    local noise = 0
    if p.noise then
        noise = p.noise * math.sqrt(-2 * math.log(math.max(math.random(), 1e-12))) * math.cos(2 * math.pi * math.random())
    end
    hub.publish("value", (p.start or 0) + (p.rate or 0) * t + noise)
end
