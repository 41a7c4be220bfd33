-- Answers every write at once: the round trip client -> hub -> script -> ack -> client, with
-- nothing in the script's way. Publishes the value back like a real setpoint would.
while true do
    local commands, why = hub.commands()
    if why == "stopping" then return end
    for _, cmd in ipairs(commands or {}) do
        hub.publish(cmd.channel, cmd.value)
        hub.ack(cmd, true)
    end
end
