-- Takes a write, then fails before answering it (a controller lost mid-command).
while true do
    local commands, why = hub.commands(1)
    if why == "stopping" then return end
    if commands then
        hub.publish("took", commands[1].id)
        error("lost the controller while writing " .. commands[1].channel)
    end
end
