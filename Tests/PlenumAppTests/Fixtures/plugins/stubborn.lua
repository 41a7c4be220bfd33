-- Publishes while running; when asked to stop it does not return until something is published
-- to /control/release (the test decides how long its stop takes).
local n = 0
while hub.sleep(0.05) do
    n = n + 1
    hub.publish("n", n)
end
while hub.read("/control/release") == nil do hub.sleep(0.01) end
