-- serial_probe.lua — a line-oriented serial sensor (RS-232/RS-485 adapter, USB probe).
--
-- Reads lines such as `T=21.4 RH=45.0`, extracts key=value fields with a Lua pattern, scales
-- them and publishes each mapped field to its channel. Malformed lines are counted and logged,
-- not fatal. When the port is missing or vanishes (USB unplugged) the probe reports it and
-- reopens with backoff (1 s doubling to 30 s) until the device returns.
--
-- Params (defaults):
--   port                   device path, e.g. /dev/ttyUSB0 (required)
--   baud = 9600, data_bits = 8, parity = "none", stop_bits = 1
--   field_pattern = "(%a+)=(-?[%d%.]+)"   Lua pattern with two captures: field name, number
--   fields                 mapping field -> { channel = "temp", scale = 1, offset = 0 }
--                          (required; fields not listed are ignored)
--   timeout_s = 5          no line for this long counts as stale in health
--
-- Channels: each mapped channel (relative to the prefix), and `health`:
--   { state = "ok" | "stale" | "disconnected", lines_ok, lines_bad, last_seen (µs) , error }
--
-- hub.yaml:
--   - name: room-probe
--     script: plugins/serial_probe.lua
--     prefix: /plant/line1/room
--     params:
--       port: /dev/ttyUSB0
--       baud: 9600
--       fields:
--         T: { channel: temperature }
--         RH: { channel: humidity }

local p = hub.params
local path = assert(p.port, "params.port (the serial device path) is required")
local fields = assert(p.fields, "params.fields (field -> channel mapping) is required")
local pattern = p.field_pattern or "(%a+)=(-?[%d%.]+)"
local timeout = p.timeout_s or 5
local options = { baud = p.baud or 9600, data_bits = p.data_bits or 8, parity = p.parity or "none",
                  stop_bits = p.stop_bits or 1 }

local health = { state = "disconnected", lines_ok = 0, lines_bad = 0, last_seen = nil, error = nil }
local function report(state, err)
    health.state, health.error = state, err
    hub.publish("health", health)
end

--- Parses one line; returns the number of mapped fields published (0 = malformed).
local function handle(line)
    local published = 0
    for name, text in line:gmatch(pattern) do
        local map = fields[name]
        local value = tonumber(text)
        if map and value then
            hub.publish(map.channel or name, value * (map.scale or 1) + (map.offset or 0))
            published = published + 1
        end
    end
    return published
end

local backoff = 1
while true do
    local ok, port = pcall(hub.serial.open, path, options)
    if not ok then
        report("disconnected", port)
        hub.log.warn("cannot open", path, port, "retrying in", backoff, "s")
        if not hub.sleep(backoff) then return end
        backoff = math.min(backoff * 2, 30)
    else
        backoff = 1
        hub.log.info("opened", path)
        report("ok", nil)
        while true do
            local ok2, line = pcall(port.read_line, port, timeout)
            if not ok2 then
                report("disconnected", line)
                hub.log.warn("lost", path, line)
                port:close()
                break
            end
            if line == nil then
                if health.state ~= "stale" then report("stale", "no line for " .. timeout .. " s") end
            elseif handle(line) > 0 then
                health.lines_ok = health.lines_ok + 1
                health.last_seen = math.floor(hub.time() * 1e6)
                report("ok", nil)
            else
                health.lines_bad = health.lines_bad + 1
                hub.log.warn("malformed line", string.format("%q", line:sub(1, 80)))
                report(health.state == "disconnected" and "ok" or health.state, health.error)
            end
            if not hub.sleep(0) then port:close() return end
        end
    end
end
