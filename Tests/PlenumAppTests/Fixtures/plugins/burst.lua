-- Once something is published to <prefix>/go, publishes 1 … `count` to "v" every 100 ms, then
-- idles.
if not hub.wait("go", 0) then return end
for i = 1, hub.params.count or 20 do
    hub.publish("v", i)
    if not hub.sleep(0.1) then return end
end
while hub.sleep(1) do end
