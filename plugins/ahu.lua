-- ahu.lua — a simulated air handling unit.
--
-- Outdoor air follows a compressed daily cycle; the outdoor-air damper runs at its minimum
-- position unless free cooling is possible (economizer); mixed air is the damper-weighted blend
-- of outdoor and return air; the chilled-water valve opens as needed to bring the mixed air down
-- to the supply-air setpoint (a proportional-integral loop); the filter pressure drop rises
-- slowly as the filter loads.
--
-- Params (defaults):
--   supply_setpoint = 13     supply-air setpoint, °C
--   return_temp = 23         zone return-air temperature (mean), °C
--   outdoor_min = 14         coldest outdoor temperature of the day, °C
--   outdoor_max = 32         warmest, °C
--   min_damper_pct = 20      minimum outdoor-air damper position, %
--   filter_dp_start = 80     clean filter pressure drop, Pa
--   filter_dp_rate = 2       filter loading, Pa per simulated day
--   period = 1               seconds between readings
--   day_seconds = 600        length of a simulated day
--   noise = 0.05             sensor noise, K
--
-- Channels: outdoor_temp, return_temp, mixed_temp, supply_temp, supply_setpoint (°C),
--   damper_pct, valve_pct (%), fan_status ("on"), filter_dp (Pa)
--
-- Writes: a client's write to <prefix>/supply_setpoint changes the supply-air setpoint; the
-- valve loop then brings the supply air to it.
--
-- hub.yaml:
--   - name: ahu-1
--     script: plugins/ahu.lua
--     prefix: /plant/line1/ahu-1
--     params: { supply_setpoint: 13 }
--     writable:
--       - { channel: supply_setpoint, type: number, min: 10, max: 18 }

local sim = require("sim")
local commands = require("commands")
local p = hub.params

local sp = p.supply_setpoint or 13
local rat_mean = p.return_temp or 23
local oat_min, oat_max = p.outdoor_min or 14, p.outdoor_max or 32
local min_damper = (p.min_damper_pct or 20) / 100
local dp0, dp_rate = p.filter_dp_start or 80, p.filter_dp_rate or 2
local period = p.period or 1
local day = p.day_seconds or 600
local sigma = p.noise or 0.05

local start = hub.monotonic()
local supply = sp
local valve = 0.3
local integral = 0

hub.publish("supply_setpoint", sp)

local handlers = {
    supply_setpoint = function(value)
        sp = value
        hub.publish("supply_setpoint", sp)
        hub.log.info("supply setpoint changed to", sp)
    end,
}

while true do
    local t = hub.monotonic() - start
    local daily = sim.daily(t, day)
    local oat = oat_min + (oat_max - oat_min) * daily
    local rat = rat_mean + 1.5 * daily + sim.noise(0.05)

    -- Economizer: outdoor air cooler than return air cools for free.
    local damper = min_damper
    if oat < rat - 1 then damper = sim.clamp((rat - sp) / math.max(rat - oat, 0.1), min_damper, 1) end
    local mixed = damper * oat + (1 - damper) * rat

    -- Cooling coil: PI loop on supply temperature drives the valve; the coil removes up to 14 K.
    local err = supply - sp
    integral = sim.clamp(integral + err * period * 0.02, 0, 1)
    valve = sim.clamp(0.15 * err + integral, 0, 1)
    supply = sim.lag(supply, mixed - 14 * valve, period, 30)

    hub.publish("outdoor_temp", sim.round(oat + sim.noise(sigma), 2))
    hub.publish("return_temp", sim.round(rat, 2))
    hub.publish("mixed_temp", sim.round(mixed + sim.noise(sigma), 2))
    hub.publish("supply_temp", sim.round(supply + sim.noise(sigma), 2))
    hub.publish("damper_pct", sim.round(damper * 100, 1))
    hub.publish("valve_pct", sim.round(valve * 100, 1))
    hub.publish("fan_status", "on")
    hub.publish("filter_dp", sim.round(dp0 + dp_rate * t / day + sim.noise(0.3), 1))

    if not commands.sleep(period, handlers) then break end
end
