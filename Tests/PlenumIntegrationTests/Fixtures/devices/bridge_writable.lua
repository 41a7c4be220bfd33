-- Takes writes on `setpoint` and `mode` (declared writable in hub.yaml) and publishes what it
-- applied: the MQTT bridge's downstream test.
local setpoint, mode = 5, "auto"
hub.publish("setpoint", setpoint)
hub.publish("mode", mode)
while true do
  local writes, why = hub.commands(1)
  if why == "stopping" then break end
  for _, cmd in ipairs(writes or {}) do
    if cmd.channel == "setpoint" then
      setpoint = cmd.value
      hub.publish("setpoint", setpoint)
    elseif cmd.channel == "mode" then
      mode = cmd.value
      hub.publish("mode", mode)
    end
    hub.ack(cmd, true)
  end
end
