-- bacnet_device.lua — one BACnet/IP device, its points mapped to channels (docs/bacnet.md).
--
-- Each point is an object and property of the device. Points with `cov = true` are
-- subscribed with SubscribeCOV and arrive as the device pushes them (renewed before the
-- subscription ends); a point whose object refuses COV, and every point with `poll_s`, is
-- read with ReadPropertyMultiple at its interval. Values are published only when they change.
-- When the device stops answering the link goes `offline`, and the script rediscovers the
-- device and subscribes again (backoff 1 s doubling to 30 s) until it is back.
--
-- Params (defaults):
--   device                 device instance (found with Who-Is), or "ip:port" (required)
--   port = 47808           local UDP port (0: any free port)
--   bind = "0.0.0.0"       local address
--   broadcast = "255.255.255.255:47808"   where Who-Is goes
--   timeout = 3, retries = 2             per request
--   cov_lifetime = 300     seconds a subscription lasts (renewed at 3/4 of it)
--   confirmed = false      confirmed COV notifications (acknowledged by the hub)
--   poll_s = 10            interval of points without their own poll_s
--   heartbeat_s = 30       a read of the device object this often notices a silent device
--   points                 list of { object = "analog-input:1", property = "present-value",
--                          channel = "supply_temp", cov = true | poll_s = 5 } (required)
--
-- Channels (relative to the prefix): each point's channel, and `link`:
--   { state = "discovering" | "online" | "offline", address = "ip:port", cov = <points by COV>,
--     polled = <points polled>, error = <last error>, since = <hub.time() of the change> }
--
-- Values: numbers, booleans, strings as read; enumerations (binary present-value: 0/1) as
-- integers; a NULL as JSON null; an array holding NULLs (the priority array) as an object of
-- its non-NULL slots, {"8": 55.0}.

local p = hub.params
local device = assert(p.device, "params.device (a device instance or \"ip:port\") is required")
assert(type(p.points) == "table" and #p.points > 0, "params.points (a list of points) is required")
local lifetime = p.cov_lifetime or 300
local default_poll = p.poll_s or 10
local heartbeat_s = p.heartbeat_s or 30
local null = hub.bacnet.null

local points = {}
for i, point in ipairs(p.points) do
  assert(type(point.object) == "string", "points[" .. i .. "].object is required (\"analog-input:1\")")
  assert(type(point.channel) == "string", "points[" .. i .. "].channel is required")
  local property = point.property or "present-value"
  points[i] = {
    object = point.object,
    property = property,
    channel = point.channel,
    -- COV delivers present-value and status-flags; any other property is polled.
    wants_cov = point.cov == true and (property == "present-value" or property == "status-flags"),
    poll_s = point.poll_s or default_poll,
    mode = "poll",
    next_poll = 0,
  }
end

local client = hub.bacnet.open {
  port = p.port or 47808, bind = p.bind, broadcast = p.broadcast, timeout = p.timeout, retries = p.retries,
}

local link = { state = "discovering", cov = 0, polled = 0 }
local function publish_link(state, err)
  local cov, polled = 0, 0
  for _, point in ipairs(points) do
    if point.mode == "cov" then cov = cov + 1 else polled = polled + 1 end
  end
  if state ~= link.state or err ~= link.error or cov ~= link.cov or polled ~= link.polled then
    link = { state = state, address = link.address, cov = cov, polled = polled, error = err, since = hub.time() }
    hub.publish("link", link)
  end
end

-- The JSON form of a BACnet value: NULL → null; arrays holding NULLs → their non-NULL slots.
local function json(value)
  if value == null then return nil end
  if type(value) == "table" then
    local holes = false
    for _, v in ipairs(value) do
      if v == null then holes = true end
    end
    if holes then
      local slots = {}
      for i, v in ipairs(value) do
        if v ~= null then slots[tostring(i)] = v end
      end
      return slots
    end
  end
  return value
end

local last = {}
local function publish(point, value)
  local v = json(value)
  if type(v) ~= "table" and last[point.channel] == v and last[point.channel] ~= nil then return end
  if type(v) == "number" and v ~= v then return end
  last[point.channel] = v
  hub.publish(point.channel, v)
end

local function is_timeout(err) return tostring(err):find("bacnet: timeout:", 1, true) ~= nil end

-- Subscribes each COV point's object once; a refusal sends the point to polling.
local renew_at = {}
local function subscribe_all()
  local done = {}
  for _, point in ipairs(points) do
    if point.wants_cov and not done[point.object] then
      local ok, lease = pcall(client.subscribe_cov, client, device, point.object,
        { lifetime = lifetime, confirmed = p.confirmed == true })
      if ok then
        done[point.object] = "cov"
        renew_at[point.object] = hub.monotonic() + (lease.renew_in or math.huge)
      elseif is_timeout(lease) then
        error(lease, 0)
      else
        done[point.object] = "poll"
        hub.log.warn("COV refused for " .. point.object .. ", polling it instead: " .. tostring(lease))
      end
    end
    if point.wants_cov then
      point.mode = done[point.object]
      point.next_poll = 0 -- one read now, so the channel has a value before the first change
    end
  end
end

-- Reads the due points (20 per request); returns when the next point is due.
local function poll_due(now)
  local batch, due = {}, {}
  local next_due = math.huge
  for _, point in ipairs(points) do
    if point.next_poll <= now and #batch < 20 then
      batch[#batch + 1] = { point.object, point.property }
      due[#due + 1] = point
      -- COV points are read once (next_poll = 0 after subscribing), then pushed.
      point.next_poll = point.mode == "poll" and now + point.poll_s or math.huge
    end
    if point.next_poll < next_due then next_due = point.next_poll end
  end
  if #batch == 0 then return next_due end
  local results = client:read_multiple(device, batch)
  for i, point in ipairs(due) do
    local r = results[i]
    if r.error then
      publish_link("online", point.object .. " " .. point.property .. ": " .. r.error)
    else
      publish(point, r.value)
    end
  end
  return next_due
end

-- Renews the subscriptions that are due; returns when the next one is.
local function renew_due(now)
  local next_due = math.huge
  for object, at in pairs(renew_at) do
    if at <= now then
      local ok, lease = pcall(client.subscribe_cov, client, device, object,
        { lifetime = lifetime, confirmed = p.confirmed == true })
      if ok then
        renew_at[object] = now + (lease.renew_in or math.huge)
      elseif is_timeout(lease) then
        error(lease, 0)
      else
        renew_at[object] = nil
        for _, point in ipairs(points) do
          if point.object == object then
            point.mode, point.next_poll = "poll", 0
          end
        end
        hub.log.warn("COV renewal refused for " .. object .. ", polling it instead: " .. tostring(lease))
      end
    end
    if renew_at[object] and renew_at[object] < next_due then next_due = renew_at[object] end
  end
  return next_due
end

-- The points of each object, so a notification costs what its object has, not the whole map.
local by_object = {}
for _, point in ipairs(points) do
  by_object[point.object] = by_object[point.object] or {}
  table.insert(by_object[point.object], point)
end

local function on_notification(n)
  for _, point in ipairs(by_object[n.object] or {}) do
    if point.mode == "cov" then
      local value = n.values[point.property]
      if value ~= nil then publish(point, value) end
    end
  end
end

local backoff = 1
local device_object = type(device) == "number" and ("device:" .. device) or "device:4194303"

-- One connected session: returns (with the error) when the device stops answering.
local function session()
  publish_link("discovering")
  if type(device) == "number" then
    local found = client:who_is { low = device, high = device, timeout = p.timeout or 3 }
    if #found == 0 then error("bacnet: device not found: no I-Am from device " .. device, 0) end
    link.address = found[1].address
  else
    link.address = device
  end
  local name = client:read(device, device_object, "object-name")
  renew_at = {}
  subscribe_all()
  publish_link("online")
  backoff = 1
  hub.log.info("BACnet device " .. tostring(device) .. " (" .. tostring(name) .. ") online")
  local next_heartbeat = hub.monotonic() + heartbeat_s
  local next_poll, next_renew = 0, 0
  while true do
    local now = hub.monotonic()
    if now >= next_poll then next_poll = poll_due(now) end
    if now >= next_renew then
      next_renew = renew_due(now)
      next_poll = math.min(next_poll, now) -- a refused renewal moves points to polling
    end
    if now >= next_heartbeat then
      client:read(device, device_object, "object-name")
      next_heartbeat = now + heartbeat_s
    end
    -- Wait for notifications until the next poll, renewal or heartbeat (at most 1 s).
    local wake = math.min(next_poll, next_renew, next_heartbeat)
    local n, why = client:next_notification(math.max(0, math.min(wake - hub.monotonic(), 1)))
    if n then
      on_notification(n)
    elseif why == "stopping" then
      return nil
    end
  end
end

while true do
  local ok, err = pcall(session)
  if ok then break end -- stopping
  if not tostring(err):find("bacnet: ", 1, true) then error(err, 0) end -- a bug, not the device
  for _, point in ipairs(points) do
    if point.wants_cov then point.mode = "poll" end
  end
  publish_link("offline", tostring(err))
  hub.log.warn("BACnet device " .. tostring(device) .. " offline: " .. tostring(err) .. "; retrying in " .. backoff .. " s")
  if not hub.sleep(backoff) then break end
  backoff = math.min(backoff * 2, 30)
end
client:close()
