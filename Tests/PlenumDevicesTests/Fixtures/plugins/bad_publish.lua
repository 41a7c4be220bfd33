-- Each bad publish is caught; the reasons are published for the test to read.
local reasons = {}
for _, attempt in ipairs({
    function() hub.publish("/plenum/devices/x/status", 1) end,
    function() hub.publish("bad//path", 1) end,
    function() hub.publish("v", function() end) end,
    function() hub.publish("v", 0/0) end,
}) do
    local ok, err = pcall(attempt)
    reasons[#reasons + 1] = err
end
hub.publish("reasons", reasons)
while hub.sleep(1) do end
