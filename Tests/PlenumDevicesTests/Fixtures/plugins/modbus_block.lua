-- Blocks in a Modbus read that never gets an answer: with params.timeout (math.huge when absent).
local conn = hub.modbus.tcp { host = "127.0.0.1", port = hub.params.port, timeout = hub.params.timeout or math.huge }
hub.publish("reading", true)
local ok, err = pcall(conn.read_holding, conn, 0, 1)
hub.publish("result", err)
hub.publish("survived", true)
while hub.sleep(1) do end
