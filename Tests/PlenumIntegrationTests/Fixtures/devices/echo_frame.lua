-- Reads a 5-byte binary frame from the port and writes it back unchanged.
local port = hub.serial.open(hub.params.port, { baud = 115200 })
hub.publish("open", true)
local frame = ""
while #frame < 5 do
    frame = frame .. (port:read(5 - #frame, 0.2) or "")
    if not hub.sleep(0) then return end
end
hub.publish("frame", { frame:byte(1, -1) })
port:write(frame)
while hub.sleep(1) do end
