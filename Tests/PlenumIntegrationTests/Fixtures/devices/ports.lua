-- NaN timeouts on a real tty (/dev/ptmx), and paths that are not serial devices.
local said = {}
local port = hub.serial.open("/dev/ptmx")
said[#said + 1] = select(2, pcall(port.read_line, port, 0 / 0))
said[#said + 1] = select(2, pcall(port.read, port, 1, 0 / 0))
port:close()
for _, path in ipairs({ "/etc/passwd", "/etc", "/nonexistent/ttyUSB9" }) do
    said[#said + 1] = select(2, pcall(hub.serial.open, path))
end
hub.publish("said", said)
while hub.sleep(1) do end
