-- Reads once and ends: its connection must close with it.
local conn = hub.modbus.tcp { host = "127.0.0.1", port = hub.params.port }
hub.publish("value", conn:read_holding(0, 1)[1])
