-- A chiller whose supply temperature climbs steadily from `start` by `rate` per second (for a
-- predictor to see the trend, predict, then alarm), with the other points a chiller has.
local p = hub.params
local value = p.start or 6.0
local rate = p.rate or 0.5
local period = p.period or 0.2
local ceiling = p.ceiling or 12
hub.publish("setpoint", 6.5)
while true do
    hub.publish("supply_temp", math.floor(value * 100 + 0.5) / 100)
    hub.publish("return_temp", math.floor((value + 5) * 100 + 0.5) / 100)
    hub.publish("status", "running")
    value = math.min(ceiling, value + rate * period)
    if not hub.sleep(period) then break end
end
