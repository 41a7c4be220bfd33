hub.publish("alive", true)
hub.sleep(0.05)
local t = nil
t.field = 1
