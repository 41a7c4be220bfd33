-- Exercises hub.modbus against the test peer at params.port; publishes what it saw.
local p = hub.params
local conn = hub.modbus.tcp { host = "127.0.0.1", port = p.port, unit = 1, timeout = 2 }

local decoded = {}
for i, v in ipairs(p.vectors) do
    local regs = conn:read_holding(v.address, v.count)
    decoded[i] = hub.modbus.decode(regs, { type = v.type, order = v.order })
end
hub.publish("decoded", decoded)
hub.publish("input", conn:read_input(0, 3))
hub.publish("coils", conn:read_coils(0, 4))
hub.publish("discrete", conn:read_discrete(0, 4))
hub.publish("scaled", hub.modbus.decode({ 0, 512 }, { type = "i16", scale = 0.1, offset = -40 }, 2))

conn:write_register(100, 0xBEEF)
conn:write_registers(101, hub.modbus.encode(42.4242, "f32"))
conn:write_coil(3, true)
hub.publish("read_back", conn:read_holding(100, 3))

local errors = {}
local function try(f)
    local ok, err = pcall(f)
    errors[#errors + 1] = ok and "no error" or err
end
try(function() conn:read_holding(5000, 2) end)
try(function() conn:read_holding(900, 1) end)
try(function() conn:read_holding(70000, 1) end)
try(function() conn:read_coils(0, 2001) end)
try(function() conn:write_register(0, 70000) end)
try(function() conn:write_registers(0, { 1, "x" }) end)
try(function() conn:write_coil(0, 1) end)
try(function() hub.modbus.tcp { host = "127.0.0.1", prot = 502 } end)
try(function() hub.modbus.tcp { host = "127.0.0.1", timeout = -1 } end)
try(function() hub.modbus.tcp { host = "127.0.0.1", timeout = 0 / 0 } end)
try(function() hub.modbus.rtu { port = "/dev/null", parity = "mark" } end)
try(function() hub.modbus.decode({ 1 }, "f32") end)
try(function() hub.modbus.encode(70000, "u16") end)
try(function() conn.read_holding(nil, 0, 1) end)
hub.publish("errors", errors)
conn:close()
try(function() conn:read_holding(0, 1) end)
hub.publish("after_close", errors[#errors])
hub.publish("done", true)
while hub.sleep(1) do end
