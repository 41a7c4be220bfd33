-- A Modbus TCP peer for the benchmarks: holding, input and coils 0-999 on params.port; the
-- holding registers change every second (values as a real controller's would).
local p = hub.params
local srv = hub.modbus.serve { port = p.port, unit = 1, holding = 1000, input = 1000, coils = 1000, discrete = 0,
                               max_connections = 64 }
local regs = {}
local t = 0
repeat
    for i = 1, 1000 do regs[i] = (i * 7 + t) % 65536 end
    srv:set("holding", 0, regs)
    srv:set("input", 0, regs)
    t = t + 1
until not hub.sleep(1)
