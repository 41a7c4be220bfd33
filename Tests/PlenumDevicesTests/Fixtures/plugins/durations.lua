-- Durations a script may pass: bad ones are errors naming the argument, huge ones mean no limit.
local reasons = {}
for _, bad in ipairs({0 / 0, -1}) do
    reasons[#reasons + 1] = select(2, pcall(hub.sleep, bad))
    reasons[#reasons + 1] = select(2, pcall(hub.wait, "/x", nil, bad))
end
reasons[#reasons + 1] = select(2, pcall(hub.sleep, "soon"))
reasons[#reasons + 1] = select(2, pcall(hub.wait, "/x", nil, "later"))
hub.publish("reasons", reasons)
local changes = hub.wait("go", nil, math.huge)
hub.publish("woke", changes ~= nil and changes[1].value)
hub.publish("woke_again", hub.wait("go", 0, 1e300)[1].value)
hub.publish("sleeping", true)
hub.publish("slept", hub.sleep(1e19))
