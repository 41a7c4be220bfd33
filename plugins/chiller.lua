-- chiller.lua — a simulated water-cooled chiller.
--
-- A physically plausible model, not random numbers: the chilled-water supply (leaving)
-- temperature tracks its setpoint through a first-order lag; the return (entering) temperature
-- is supply + ΔT, where ΔT follows the building load; the load follows a compressed daily cycle;
-- compressor power is the cooling delivered divided by a COP that falls as the condenser gets
-- warmer and at low part load. Sensors carry a little noise.
--
-- Faults (params.fault) for testing predictors and dashboards:
--   refrigerant_loss  capacity shortfall grows after fault_start_s: the supply temperature drifts
--                     up by fault_rate_k_per_min (capped at +10 K) while the chiller keeps running
--   stuck_sensor      supply_temp freezes at its value when the fault starts
--   compressor_trip   the compressor stops: status "tripped", power 0, supply drifts to return
--
-- Params (defaults):
--   setpoint = 6.5          chilled-water supply setpoint, °C
--   design_delta_t = 5.5    supply/return ΔT at full load, K
--   capacity_kw = 500       cooling capacity, kW
--   cop_design = 5.8        COP at full load with a 30 °C condenser
--   period = 1              seconds between readings
--   day_seconds = 600       length of a simulated day (600: a day every 10 minutes)
--   noise = 0.03            sensor noise (standard deviation), K
--   supply_tau_s = 20       time constant of the supply temperature's response, seconds
--   fault = nil             "refrigerant_loss", "stuck_sensor" or "compressor_trip"
--   fault_start_s = 30      seconds after start when the fault begins
--   fault_rate_k_per_min = 1.0   refrigerant_loss drift rate
--   modbus = nil            { port = 15020, unit = 1 }: instead of publishing its readings, the
--                           chiller serves them as a Modbus TCP controller on 127.0.0.1:port,
--                           for a modbus_device.lua device to poll (the register map below)
--
-- Modbus register map (with params.modbus; docs/modbus.md polls it):
--   input 0-1   supply_temp      f32 ABCD  °C
--   input 2-3   return_temp      f32 ABCD  °C
--   input 4-5   condenser_temp   f32 ABCD  °C
--   input 6     load_pct         u16       % × 10
--   input 7     power_kw         u16       kW × 10
--   input 8     cop              u16       × 100
--   input 9     status           u16       0 stopped, 1 running, 2 tripped
--   holding 0-1 setpoint         f32 CDAB  °C, writable: a client's write changes the setpoint
--
-- Channels (relative to the device prefix):
--   supply_temp, return_temp, condenser_temp (°C), setpoint (°C), load_pct (%),
--   power_kw (kW), cop, status ("running" | "tripped")
--
-- Writes: a client's write to <prefix>/setpoint (declared under `writable:`, which sets its
-- range) changes the setpoint; the supply temperature then moves toward it with supply_tau_s.
-- With params.modbus the setpoint is written over Modbus instead (holding 0-1, see above).
--
-- hub.yaml:
--   - name: chiller-1
--     script: plugins/chiller.lua
--     prefix: /plant/line1/chiller-1
--     params: { setpoint: 6.5, capacity_kw: 500 }
--     writable:
--       - { channel: setpoint, type: number, min: 4, max: 12 }

local sim = require("sim")
local commands = require("commands")
local p = hub.params

local setpoint = p.setpoint or 6.5
local design_dt = p.design_delta_t or 5.5
local capacity = p.capacity_kw or 500
local cop_design = p.cop_design or 5.8
local period = p.period or 1
local day = p.day_seconds or 600
local sigma = p.noise or 0.03
local tau = p.supply_tau_s or 20
local fault = p.fault
local fault_start = p.fault_start_s or 30
local fault_rate = p.fault_rate_k_per_min or 1.0

local start = hub.monotonic()
local supply = setpoint
local delta_t = design_dt * 0.5
local stuck_value = nil

-- As a Modbus controller: the readings go into registers instead of channels.
local server = nil
local SETPOINT = { type = "f32", order = "CDAB" }

local function f32(x) return hub.modbus.encode(x, "f32") end
local function serve(readings)
    local regs = {}
    for _, words in ipairs({ f32(readings.supply), f32(readings.ret), f32(readings.condenser) }) do
        table.move(words, 1, 2, #regs + 1, regs)
    end
    regs[7] = math.floor(readings.load * 10 + 0.5)
    regs[8] = math.floor(readings.power * 10 + 0.5)
    regs[9] = math.floor(readings.cop * 100 + 0.5)
    regs[10] = readings.tripped and 2 or 1
    server:set("input", 0, regs)
    -- A client may have written a new setpoint; implausible ones are put back.
    local written = hub.modbus.decode(server:get("holding", 0, 2), SETPOINT)
    if written == written and written >= 0 and written <= 20 then
        setpoint = written
    else
        server:set("holding", 0, hub.modbus.encode(setpoint, SETPOINT))
    end
end

if p.modbus then
    server = hub.modbus.serve { port = p.modbus.port, unit = p.modbus.unit or 1, host = p.modbus.host,
                                holding = 16, input = 16, coils = 0, discrete = 0 }
    server:set("holding", 0, hub.modbus.encode(setpoint, SETPOINT))
    -- A plausible state at once: a poller that connects before the first pass reads this, not
    -- zeros (0 °C supply).
    serve { supply = setpoint, ret = setpoint + delta_t, condenser = 27, load = 30,
            power = capacity * 0.3 / cop_design, cop = cop_design, tripped = false }
else
    hub.publish("setpoint", setpoint)
end

hub.log.info("chiller started", "setpoint", setpoint, "fault", fault or "none",
             "modbus", server and ("127.0.0.1:" .. server.port) or "off")

-- Clients' writes (validated by the hub against hub.yaml's `writable:`).
local handlers = {
    setpoint = function(value)
        setpoint = value
        if server then
            server:set("holding", 0, hub.modbus.encode(setpoint, SETPOINT))
        else
            hub.publish("setpoint", setpoint)
        end
        hub.log.info("setpoint changed to", setpoint)
    end,
}

while true do
    local t = hub.monotonic() - start
    local faulted = fault ~= nil and t >= fault_start
    local tripped = faulted and fault == "compressor_trip"

    -- Building load: a base plus the daily cycle, with slow noise.
    local load = sim.clamp(0.3 + 0.6 * sim.daily(t, day) + sim.noise(0.02), 0.05, 1.0)
    delta_t = sim.lag(delta_t, design_dt * load, period, 60)

    -- Supply temperature: tracks the setpoint, unless the chiller cannot hold it.
    local target = setpoint
    if faulted and fault == "refrigerant_loss" then
        target = setpoint + math.min(10, fault_rate * (t - fault_start) / 60)
    end
    if tripped then target = setpoint + delta_t + 4 end
    supply = sim.lag(supply, target, period, tripped and tau * 6 or tau)
    local ret = supply + delta_t

    -- Condenser follows the day (warmer afternoons); COP falls with it and at low load.
    local condenser = 27 + 8 * sim.daily(t, day)
    local part_load = 0.75 + 0.45 * load - 0.2 * load * load
    local cop = cop_design * (1 - 0.025 * (condenser - 30)) * part_load
    local cooling_kw = tripped and 0 or capacity * load
    local power = cooling_kw / cop

    local reported_supply = supply + sim.noise(sigma)
    if faulted and fault == "stuck_sensor" then
        stuck_value = stuck_value or reported_supply
        reported_supply = stuck_value
    end

    if server then
        serve {
            supply = sim.round(reported_supply, 2), ret = sim.round(ret + sim.noise(sigma), 2),
            condenser = sim.round(condenser + sim.noise(sigma), 2), load = load * 100, power = power,
            cop = tripped and 0 or cop, tripped = tripped,
        }
    else
        hub.publish("supply_temp", sim.round(reported_supply, 2))
        hub.publish("return_temp", sim.round(ret + sim.noise(sigma), 2))
        hub.publish("condenser_temp", sim.round(condenser + sim.noise(sigma), 2))
        hub.publish("load_pct", sim.round(load * 100, 1))
        hub.publish("power_kw", sim.round(power, 1))
        hub.publish("cop", sim.round(tripped and 0 or cop, 2))
        hub.publish("status", tripped and "tripped" or "running")
    end

    if not commands.sleep(period, handlers) then break end
end
