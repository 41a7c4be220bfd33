-- Publishes an increasing counter every `period_ms` (default 100).
local period = (hub.params.period_ms or 100) / 1000
local n = 0
while hub.sleep(period) do
    n = n + 1
    hub.publish("count", n)
end
