-- modbus_device.lua — any Modbus TCP or RTU device, driven by a register map in hub.yaml.
--
-- Every point is read on its own period; points of one table and period whose registers are
-- contiguous are read together, in as few requests as the protocol allows (at most
-- max_registers registers, or 2000 coils/discrete inputs, per request). Each value is published
-- to <prefix>/<name>; the link state to <prefix>/modbus/link:
--   "online"           the last poll cycle was answered
--   "timeout"          the device did not answer: no response (unplugged, wrong unit id, wrong
--                      baud rate) or no connection (refused, lost); the log says which
--   "error: <reason>"  it answered with an exception, a bad CRC or a malformed frame, or the
--                      serial port cannot be opened
-- Through an outage the device keeps polling, with a backoff that doubles from poll_s up to
-- max_backoff_s (the log says "unreachable: next attempt in <s> s" at each step), and goes back
-- to "online" by itself.
--
-- Params (defaults):
--   host = nil             Modbus TCP: the device's address          } one of the two
--   serial = nil           Modbus RTU: the serial port, /dev/ttyUSB0 }
--   port = 502             TCP port
--   baud = 9600, parity = "none", data_bits = 8, stop_bits = 1       RTU line settings
--   unit = 1               unit (slave) id
--   timeout = 1            seconds to wait for each answer
--   poll_s = 1             default period of the points, seconds
--   max_registers = 125    largest register request (some devices accept fewer)
--   max_gap = 0            unused registers a request may span to join two points
--   max_backoff_s = 30     longest wait between attempts while the device is unreachable
--   points = {             the register map (checked by `plenum check`)
--     { name = "supply_temp",  -- channel <prefix>/supply_temp
--       table = "holding",     -- holding | input | coil | discrete
--       address = 0,           -- 0-based register or bit address, as on the wire
--       type = "f32",          -- u16 i16 u32 i32 f32 u64 i64 f64 (registers; default u16)
--       order = "ABCD",        -- ABCD CDAB BADC DCBA (default ABCD)
--       scale = 1, offset = 0, -- value = raw * scale + offset
--       unit = "°C",           -- documentation, listed in <prefix>/modbus/points
--       poll_s = 1,            -- this point's period (default: params.poll_s)
--       values = { ["0"] = "stopped", ["1"] = "running" },  -- optional: publish names
--       writable = { min = 4, max = 12 } },  -- optional: clients may write it (true, or limits)
--   }
--
-- Writes: a client's write to a point marked `writable:` (holding registers and coils only;
-- the hub checks the value against the register map first) is written to the device at once —
-- encoded like the point is decoded: raw = (value - offset) / scale, names back to their raw
-- values — then the point is read back and published, and the client hears the outcome: ok, or
-- rejected with the Modbus error (`modbus exception: illegal data value …`, `modbus timeout: …`).
--
-- hub.yaml: see docs/modbus.md for a worked chiller map.

local p = hub.params
local points = p.points or {}
local max_registers = p.max_registers or 125
local max_gap = p.max_gap or 0
local max_backoff = p.max_backoff_s or 30
local default_poll = p.poll_s or 1
assert(#points > 0, "modbus_device: params.points lists no points")

local conn
if p.serial then
    conn = hub.modbus.rtu { port = p.serial, baud = p.baud, parity = p.parity, data_bits = p.data_bits,
                            stop_bits = p.stop_bits, unit = p.unit, timeout = p.timeout }
else
    conn = hub.modbus.tcp { host = p.host, port = p.port, unit = p.unit, timeout = p.timeout }
end

local is_bits = { coil = true, discrete = true }
local readers = { holding = conn.read_holding, input = conn.read_input, coil = conn.read_coils,
                  discrete = conn.read_discrete }
local widths = { u16 = 1, i16 = 1, u32 = 2, i32 = 2, f32 = 2, u64 = 4, i64 = 4, f64 = 4 }

-- Points by (period, table), each group merged into requests; and by name, for writes.
local groups, by_key, catalogue, by_name = {}, {}, {}, {}
for i, point in ipairs(points) do
    local tbl = point.table or "holding"
    assert(readers[tbl], "modbus_device: points[" .. i .. "].table must be holding, input, coil or discrete")
    local width = is_bits[tbl] and 1 or widths[point.type or "u16"]
    assert(width, "modbus_device: points[" .. i .. "].type is not a known type")
    local entry = {
        name = point.name, address = point.address, width = width, values = point.values,
        format = { type = point.type or "u16", order = point.order or "ABCD", scale = point.scale or 1,
                   offset = point.offset or 0 },
        bits = is_bits[tbl], table = tbl, writable = point.writable,
    }
    by_name[point.name] = entry
    local period = point.poll_s or default_poll
    local key = period .. "/" .. tbl
    if not by_key[key] then
        by_key[key] = { period = period, table = tbl, points = {} }
        groups[#groups + 1] = by_key[key]
    end
    table.insert(by_key[key].points, entry)
    catalogue[point.name] = { table = tbl, address = point.address, type = is_bits[tbl] and "bool" or entry.format.type,
                              unit = point.unit, writable = point.writable and true or nil }
end

for _, group in ipairs(groups) do
    table.sort(group.points, function(a, b) return a.address < b.address end)
    local limit = is_bits[group.table] and 2000 or max_registers
    local requests, current = {}, nil
    for _, point in ipairs(group.points) do
        local last = point.address + point.width
        if current and point.address <= current.stop + max_gap and math.max(current.stop, last) - current.start <= limit then
            current.stop = math.max(current.stop, last)
            table.insert(current.points, point)
        else
            current = { start = point.address, stop = last, points = { point } }
            requests[#requests + 1] = current
        end
    end
    group.requests = requests
end

hub.publish("modbus/points", catalogue)
local requests_total = 0
for _, group in ipairs(groups) do requests_total = requests_total + #group.requests end
hub.log.info("polling", #points, "points in", requests_total, "requests")

local link = nil
local function set_link(state, detail)
    if state ~= link then
        link = state
        hub.publish("modbus/link", state)
        if state ~= "online" then hub.log.warn("link:", state, detail) end
    end
end

local function publish(point, regs, offset)
    local value
    if point.bits then
        value = regs[offset + 1]
    else
        local slice = table.move(regs, offset + 1, offset + point.width, 1, {})
        value = hub.modbus.decode(slice, point.format)
        if value ~= value or value == math.huge or value == -math.huge then value = nil end
    end
    if point.values and value ~= nil then
        local key = type(value) == "boolean" and tostring(value) or math.tointeger(value)
        if key ~= nil then value = point.values[tostring(key)] or value end
    end
    hub.publish(point.name, value)
end

-- Polls one group; returns nil, or the link failure ("timeout" / "error: …") and whether the
-- device is unreachable (the rest of the cycle is skipped and the backoff grows).
local function poll(group)
    local read = readers[group.table]
    local problem, unreachable = nil, false
    for _, request in ipairs(group.requests) do
        local ok, regs = pcall(read, conn, request.start, request.stop - request.start)
        if ok then
            for _, point in ipairs(request.points) do publish(point, regs, point.address - request.start) end
        else
            local message = tostring(regs):gsub("^[^:]*:%d+: ", "")
            local kind = message:match("^modbus (%a+):")
            if kind == "interrupted" then error(regs, 0) end
            if kind == "timeout" or (kind == "connection" and not message:find("cannot open the serial port")) then
                return "timeout", true, message
            elseif kind == "connection" then
                return "error: " .. message, true, message
            end
            problem = problem or ("error: " .. message)
        end
    end
    return problem, unreachable, problem
end

-- A client's write: encode, write, read back and publish. Returns true, or nil and the reason.
local function write_point(point, value)
    if point.table ~= "holding" and point.table ~= "coil" then
        return nil, point.name .. " is in the " .. point.table .. " table, which is read-only"
    end
    local raw = value
    if point.values then
        raw = nil
        for key, name in pairs(point.values) do
            if name == value then raw = key end
        end
        if raw == nil then return nil, tostring(value) .. " is not one of the point's values" end
        if point.bits then raw = raw == "true" else raw = math.tointeger(tonumber(raw)) end
    end
    local ok, err = pcall(function()
        if point.bits then
            conn:write_coil(point.address, raw == true)
        else
            local regs = hub.modbus.encode(raw, point.format)
            if #regs == 1 then conn:write_register(point.address, regs[1]) else conn:write_registers(point.address, regs) end
        end
    end)
    if not ok then
        local message = tostring(err):gsub("^[^:]*:%d+: ", "")
        if message:match("^modbus interrupted:") then error(err, 0) end
        return nil, message
    end
    -- Read it back so that the channel follows at once (a device may also clamp what it got).
    local read_ok, regs = pcall(readers[point.table], conn, point.address, point.width)
    if read_ok then publish(point, regs, 0) end
    return true
end

local function answer_writes(pending)
    for _, cmd in ipairs(pending) do
        local point = by_name[cmd.channel]
        if point == nil then
            hub.ack(cmd, false, cmd.channel .. " is not a point of this device's register map")
        else
            local ok, why = write_point(point, cmd.value)
            if ok then
                hub.log.info("wrote", cmd.channel, "=", cmd.value, "for", cmd.who)
                hub.ack(cmd, true)
            else
                hub.log.warn("write of", cmd.channel, "failed:", why)
                hub.ack(cmd, false, why)
            end
        end
    end
end

local now = hub.monotonic()
for _, group in ipairs(groups) do group.due = now end
local failures, backoff = 0, nil
while true do
    now = hub.monotonic()
    local problem, unreachable, detail = nil, false, nil
    for _, group in ipairs(groups) do
        if not unreachable and now >= group.due then
            local failure, down, why = poll(group)
            if failure and not problem then problem, detail = failure, why end
            unreachable = down
            group.due = math.max(group.due + group.period, now)
        end
    end
    set_link(problem or "online", detail)
    if unreachable then
        failures = failures + 1
        local wait = math.min(max_backoff, default_poll * 2 ^ (failures - 1))
        -- One line per step of the backoff (none once it stays at max_backoff_s).
        if wait ~= backoff then hub.log.info(string.format("unreachable: next attempt in %g s", wait)) end
        backoff = wait
        for _, group in ipairs(groups) do group.due = now + wait end
    else
        failures, backoff = 0, nil
    end
    local next_due = math.huge
    for _, group in ipairs(groups) do next_due = math.min(next_due, group.due) end
    -- Until the next poll is due, answer clients' writes as they arrive.
    local stopping = false
    while true do
        local pending, why = hub.commands(math.max(0, next_due - hub.monotonic()))
        if pending == nil then
            stopping = why == "stopping"
            break
        end
        answer_writes(pending)
    end
    if stopping then break end
end
