-- Two lines' readings for the access-control tests: /plant/line1/a and /plant/line2/b every
-- 50 ms, and every 0.5 s a new channel on each line (gen/10, gen/20, …) so that a subscription
-- sees channels appear after it.
local n = 0
while hub.sleep(0.05) do
    n = n + 1
    hub.publish("/plant/line1/a", n)
    hub.publish("/plant/line2/b", n)
    if n % 10 == 0 and n <= 4000 then
        hub.publish("/plant/line1/gen/" .. n, n)
        hub.publish("/plant/line2/gen/" .. n, n)
    end
end
