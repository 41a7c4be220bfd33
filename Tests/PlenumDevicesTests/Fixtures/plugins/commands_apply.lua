-- Applies writes: "setpoint" is published back; the value "refuse" is rejected with a reason;
-- every command table is published to "last" as the script saw it. With params.crash, the script
-- fails after taking a write and before answering it; with params.silent, it never answers.
local p = hub.params
hub.publish("ready", true)
while true do
    local commands, why = hub.commands(1)
    if commands == nil then
        if why == "stopping" then return end
    else
        for _, cmd in ipairs(commands) do
            hub.publish("last", cmd)
            hub.publish("took", cmd.id)
            if p.crash then error("lost the controller") end
            if not p.silent then
                if cmd.value == "refuse" then
                    hub.ack(cmd, false, "the compressor is locked out")
                else
                    hub.publish(cmd.channel, cmd.value)
                    hub.ack(cmd, true)
                end
            end
        end
    end
end
