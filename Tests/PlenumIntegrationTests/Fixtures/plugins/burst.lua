-- After `delay` seconds, publishes 1 … `count` to "v" every 50 ms, then idles.
hub.sleep(hub.params.delay or 1)
for i = 1, hub.params.count or 20 do
    hub.publish("v", i)
    if not hub.sleep(0.05) then return end
end
while hub.sleep(1) do end
