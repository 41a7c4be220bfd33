-- Publishes a count while running; asked to stop, publishes its last word (`farewell`, the final
-- count) on its way out: a value published after the server has closed its clients.
local n = 0
while hub.sleep(0.05) do
    n = n + 1
    hub.publish("n", n)
end
hub.publish("farewell", n)
