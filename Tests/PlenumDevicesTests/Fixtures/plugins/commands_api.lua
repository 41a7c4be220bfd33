-- hub.ack's argument errors and answers, and hub.commands' timeout.
local said = {}
local function try(...)
    local ok, err = pcall(...)
    said[#said + 1] = ok and "ok" or err
end
try(hub.ack, nil, true)
try(hub.ack, 7, "yes")
try(hub.ack, 7, true, {})
try(hub.commands, -1)
local none, why = hub.commands(0.01)
said[#said + 1] = tostring(none) .. " " .. why
local answered, reason = hub.ack(12345, true)
said[#said + 1] = tostring(answered) .. " " .. reason
hub.publish("said", said)
while true do
    local commands, why = hub.commands(1)
    if why == "stopping" then return end
    for _, cmd in ipairs(commands or {}) do
        local first = hub.ack(cmd, true, string.rep("x", 600))
        local again, already = hub.ack(cmd, false, "second")
        hub.publish("acks", { first, again, already })
    end
end
