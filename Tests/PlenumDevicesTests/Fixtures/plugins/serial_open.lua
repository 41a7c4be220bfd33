-- What opening each path says: the same for anything that is not a character device.
local said = {}
for i, path in ipairs(hub.params.paths) do
    local ok, err = pcall(hub.serial.open, path)
    said[i] = ok and "opened" or err
end
hub.publish("said", said)
