-- Exercises every hub.bacnet call against the bacpypes3 peer and publishes what it saw.
local p = hub.params
local c = hub.bacnet.open { port = 0, bind = "127.0.0.1", broadcast = p.broadcast, timeout = 1, retries = 1 }
local dev = p.device

hub.publish("who_is", c:who_is { low = dev, high = dev, timeout = 3 })
hub.publish("who_is_directed", #c:who_is { target = p.address, timeout = 1 })
hub.publish("ai_pv", c:read(dev, "analog-input:1", "present-value"))
hub.publish("ai_name", c:read(p.address, "analog-input:1", "object-name"))
hub.publish("ai_flags", c:read(dev, "analog-input:1", "status-flags"))
hub.publish("ai_units", c:read(dev, "analog-input:1", "units"))
hub.publish("bv_pv", c:read(dev, "binary-value:1", "present-value"))
hub.publish("device_id", c:read(dev, "device:" .. dev, "object-identifier"))
local pa = c:read(dev, "analog-value:1", "priority-array")
local all_null = true
for _, v in ipairs(pa) do
  if v ~= hub.bacnet.null then all_null = false end
end
hub.publish("pa", { count = #pa, all_null = all_null })
hub.publish("rpm", c:read_multiple(dev, {
  { "analog-input:1", "object-name" },
  { "analog-value:1", "relinquish-default" },
  { "binary-value:1", "cov-increment" },
}))

c:write(dev, "analog-value:1", "present-value", 55, 8)
hub.publish("after_write", c:read(dev, "analog-value:1", "present-value"))
hub.publish("slot8", c:read(dev, "analog-value:1", "priority-array", 8))
c:relinquish(dev, "analog-value:1", "present-value", 8)
hub.publish("after_relinquish", c:read(dev, "analog-value:1", "present-value"))
hub.publish("slot8_null", c:read(dev, "analog-value:1", "priority-array", 8) == hub.bacnet.null)

local errors = {}
local function try(name, f, ...)
  local ok, e = pcall(f, ...)
  errors[name] = ok and "no error" or tostring(e)
end
try("bad_object", c.read, c, dev, "chiller:1", "present-value")
try("bad_property", c.read, c, dev, "analog-input:1", "no-such-thing")
try("bad_device", c.read, c, {}, "analog-input:1", "present-value")
try("bad_address", c.read, c, "10.0.0.300:1", "analog-input:1", "present-value")
try("bad_priority", c.write, c, dev, "analog-value:1", "present-value", 1, 17)
try("bad_value", c.write, c, dev, "analog-value:1", "present-value", {}, 8)
try("unknown_object", c.read, c, dev, "analog-input:99", "present-value")
try("bad_timeout", c.next_notification, c, 0 / 0)
try("bad_option", hub.bacnet.open, { prot = 1 })
try("bad_lifetime", c.subscribe_cov, c, dev, "analog-input:1", { lifetime = -1 })
hub.publish("errors", errors)

hub.publish("lease", c:subscribe_cov(dev, "analog-input:1", { lifetime = 60, confirmed = true }))
local got = 0
while got < 2 do
  local n, why = c:next_notification(5)
  if not n then
    hub.publish("notify_error", why)
    break
  end
  got = got + 1
  hub.publish("notification", {
    object = n.object, pv = n.values["present-value"], confirmed = n.confirmed, device = n.device,
  })
end
c:unsubscribe_cov(dev, "analog-input:1")
hub.publish("done", true)

local _, why = c:next_notification(math.huge)
hub.publish("stopped_with", why or "?")
