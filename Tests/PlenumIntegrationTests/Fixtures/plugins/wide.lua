-- Publishes `count` channels (c1 … cN) once, each a string of `size` bytes, then idles.
local count = hub.params.count or 200
local text = string.rep("x", hub.params.size or 100)
for i = 1, count do
    hub.publish("c" .. i, text)
end
while hub.sleep(1) do
end
