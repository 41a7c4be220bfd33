-- Bad timeouts are errors; a binary frame is read and echoed back byte for byte.
local port = hub.serial.open(hub.params.port, { baud = 115200 })
local reasons = {}
reasons[#reasons + 1] = select(2, pcall(port.read_line, port, 0 / 0))
reasons[#reasons + 1] = select(2, pcall(port.read, port, 1, 0 / 0))
reasons[#reasons + 1] = select(2, pcall(port.read, port, 1, -5))
reasons[#reasons + 1] = select(2, pcall(port.read, port, 1 / 0, 1))
hub.publish("reasons", reasons)
local frame = ""
while #frame < 5 do
    frame = frame .. (port:read(5 - #frame, 0.2) or "")
    if not hub.sleep(0) then return end
end
hub.publish("frame", { frame:byte(1, -1) })
port:write(frame)
hub.publish("publish_error", select(2, pcall(hub.publish, "raw", frame)))
while hub.sleep(1) do end
