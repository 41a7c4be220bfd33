-- Opens a BACnet client on params.port, says so, and ends (its socket must close with it).
local c = hub.bacnet.open { port = hub.params.port, bind = "127.0.0.1" }
hub.publish("opened", c.port)
