-- A plant for the MQTT bridge tests: `channels` channels (c1, c2, ...) get a new value every
-- `period` seconds for `seconds` seconds; then `done` holds the number of rounds.
local p = hub.params
local n, period, seconds = p.channels or 10, p.period or 0.1, p.seconds or 5
local t0 = hub.monotonic()
local round = 0
while hub.monotonic() - t0 < seconds do
  round = round + 1
  for i = 1, n do hub.publish("c" .. i, round) end
  if not hub.sleep(period) then return end
end
hub.publish("done", round)
while hub.sleep(1) do end
