-- Reads lines from params.port, publishes each; answers PING; reports a lost port.
local port = hub.serial.open(hub.params.port, { baud = 115200, parity = "none", data_bits = 8, stop_bits = 1 })
hub.publish("state", "open")
while true do
    local ok, line = pcall(port.read_line, port, 0.2)
    if not ok then
        hub.publish("state", "lost: " .. tostring(line))
        hub.sleep(10)
        return
    end
    if line == "PING" then
        port:write("PONG\n")
    elseif line ~= nil then
        hub.publish("line", line)
    end
    if not hub.sleep(0) then return end
end
