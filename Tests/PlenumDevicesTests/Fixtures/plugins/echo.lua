-- Waits for the producer (no polling) and publishes ten times its value, plus what hub.read saw.
local source = hub.params.source
local last = 0
while true do
    local changes, why = hub.wait(source, last, 1)
    if changes == nil then
        if why == "stopping" then return end
    else
        local change = changes[#changes]
        last = change.version
        local value, version, ts = hub.read(source)
        hub.publish("echo", { value = change.value * 10, read_version = version, ts_ok = ts > 0 })
    end
end
