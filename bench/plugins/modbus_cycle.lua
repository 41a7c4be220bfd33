-- One poll cycle of params.count holding registers, repeated params.cycles times against the
-- peer at params.port: read them in one request, decode each as a u16, publish each (what
-- modbus_device.lua does for a block of u16 points). Publishes p50/p99 of the cycle and of the
-- request's round trip, and the process CPU per cycle, to "result".
local p = hub.params
local count, cycles = p.count or 100, p.cycles or 2000
local conn = hub.modbus.tcp { host = "127.0.0.1", port = p.port, timeout = 2 }
local names = {}
for i = 1, count do names[i] = "r" .. i end
local fmt = { type = "u16" }
local function cycle()
    local t0 = hub.monotonic()
    local regs = conn:read_holding(p.address or 0, count)
    local t1 = hub.monotonic()
    for i = 1, count do hub.publish(names[i], hub.modbus.decode({ regs[i] }, fmt)) end
    return hub.monotonic() - t0, t1 - t0
end
for _ = 1, 100 do cycle() end
local times, rtts = {}, {}
local cpu0 = os.clock()
for i = 1, cycles do times[i], rtts[i] = cycle() end
local cpu = os.clock() - cpu0
-- The request alone: what the hub spends on one Modbus exchange of `count` registers.
local read0 = os.clock()
for _ = 1, cycles do conn:read_holding(p.address or 0, count) end
local read_cpu = os.clock() - read0
table.sort(times)
table.sort(rtts)
local function q(list, f) return math.floor(list[math.max(1, math.floor(#list * f))] * 1e6 + 0.5) end
hub.publish("result", {
    cycles = cycles, registers = count,
    cycle_p50_us = q(times, 0.5), cycle_p99_us = q(times, 0.99),
    request_p50_us = q(rtts, 0.5), request_p99_us = q(rtts, 0.99),
    hub_cpu_us_per_cycle = math.floor(cpu / cycles * 1e6 + 0.5),
    hub_cpu_us_per_request = math.floor(read_cpu / cycles * 1e6 + 0.5),
})
while hub.sleep(1) do end
