-- commands: answering clients' writes from a script's loop (require("commands")).
--
--   commands.sleep(seconds, handlers)
--       Waits `seconds` like hub.sleep (returns false when the device is stopping), applying
--       the writes that arrive meanwhile. `handlers` maps a channel as declared under
--       `writable:` to a function(value, cmd): return nothing or true to accept (a second
--       return value is passed on as a message), false and a reason to refuse. An error in a
--       handler refuses the write with the error's message; a write to a channel without a
--       handler is refused. Every write gets exactly one hub.ack.
--
-- Example (hub.yaml declares `writable: [{channel: setpoint, type: number, min: 4, max: 12}]`):
--   local setpoint = 6.5
--   local handlers = { setpoint = function(v) setpoint = v; hub.publish("setpoint", v) end }
--   while commands.sleep(1, handlers) do ... end
local commands = {}

local function answer(cmd, handler)
    if handler == nil then
        hub.ack(cmd, false, "this script does not handle writes to " .. cmd.channel)
        return
    end
    local ok, accepted, message = pcall(handler, cmd.value, cmd)
    if not ok then
        hub.ack(cmd, false, tostring(accepted))
    elseif accepted == false then
        hub.ack(cmd, false, message or "refused")
    else
        hub.ack(cmd, true, message)
    end
end

function commands.sleep(seconds, handlers)
    local deadline = hub.monotonic() + seconds
    while true do
        local pending, why = hub.commands(math.max(0, deadline - hub.monotonic()))
        if pending == nil then return why ~= "stopping" end
        for _, cmd in ipairs(pending) do answer(cmd, handlers[cmd.channel]) end
    end
end

return commands
