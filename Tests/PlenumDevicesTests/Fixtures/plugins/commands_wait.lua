-- Blocked in hub.wait on a channel nobody publishes, it still answers writes: hub.wait returns
-- nil, "commands" once per arrival. Records each reason it woke for.
local reasons = {}
while true do
    local changes, why = hub.wait("/t/nobody/publishes", nil, 30)
    if why == "stopping" then return end
    reasons[#reasons + 1] = why or "changes"
    hub.publish("woke", reasons)
    if why == "commands" then
        for _, cmd in ipairs(hub.commands(0) or {}) do hub.ack(cmd.id, true, "applied after wait") end
    end
end
