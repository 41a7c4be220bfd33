-- Takes every write and never answers it.
while true do
    local commands, why = hub.commands(1)
    if why == "stopping" then return end
    for _, cmd in ipairs(commands or {}) do hub.publish("took", cmd.id) end
end
