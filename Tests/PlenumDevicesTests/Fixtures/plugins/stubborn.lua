-- Ignores stop requests: never calls hub.sleep, catches every error it can.
while true do
    pcall(function() for i = 1, 1e6 do end end)
end
