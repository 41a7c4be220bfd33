local scale = require("scale")
hub.publish("scaled", scale.apply(hub.params.raw))
while hub.sleep(1) do end
