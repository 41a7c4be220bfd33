-- Ignores stop requests until /gate/open is published: its stop lasts as long as the test wants.
hub.publish("ready", true)
while hub.read("/gate/open") == nil do
    hub.sleep(0.01)
end
