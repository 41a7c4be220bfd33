-- Publishes 1, 2, 3, ... to "value" every params.period seconds.
local n = 0
while hub.sleep(hub.params.period or 0.02) do
    n = n + 1
    hub.publish("value", n)
end
