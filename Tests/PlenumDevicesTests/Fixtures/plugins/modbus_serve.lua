-- A Modbus TCP server on a free port: holding 0-1 hold 21.5 (f32); holding 10-11 are a setpoint
-- clients write, published as "setpoint".
local srv = hub.modbus.serve { port = 0, unit = 1, holding = 100, coils = 8 }
srv:set("holding", 0, hub.modbus.encode(21.5, "f32"))
srv:set("coil", 2, { true })
hub.publish("port", srv.port)
repeat
    hub.publish("setpoint", hub.modbus.decode(srv:get("holding", 10, 2), "f32"))
until not hub.sleep(0.02)
