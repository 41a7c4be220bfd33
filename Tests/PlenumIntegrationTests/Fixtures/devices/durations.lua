-- Durations from the issue that used to kill the hub; bad ones are errors naming the argument.
local reasons = {}
reasons[#reasons + 1] = select(2, pcall(hub.sleep, 0 / 0))
reasons[#reasons + 1] = select(2, pcall(hub.sleep, -1))
reasons[#reasons + 1] = select(2, pcall(hub.wait, "/x", nil, 0 / 0))
hub.publish("reasons", reasons)
if hub.params.mode == "sleep" then
    hub.publish("blocked", true)
    pcall(hub.sleep, 1e19)
elseif hub.params.mode == "wait" then
    hub.publish("blocked", true)
    hub.wait("/x", nil, math.huge)
else
    hub.publish("blocked", true)
    hub.wait("/x", nil, 1e300)
end
