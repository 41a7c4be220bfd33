-- sim: small helpers for simulated equipment (require("sim")).
--
--   sim.noise(sigma)            Gaussian noise with standard deviation sigma (Box-Muller).
--   sim.lag(state, target, dt, tau)
--                               First-order lag: moves state toward target with time constant
--                               tau seconds over a step of dt seconds; returns the new state.
--   sim.daily(t, day_seconds)   A daily profile in [0, 1]: 0 at "midnight", 1 at mid-afternoon.
--                               day_seconds compresses a day (600 = a day every 10 minutes).
--   sim.clamp(x, lo, hi)        x limited to [lo, hi].
--   sim.round(x, places)        x rounded to `places` decimals (what a real sensor reports).
local sim = {}

function sim.noise(sigma)
    if sigma == nil or sigma == 0 then return 0 end
    local u1 = math.max(math.random(), 1e-12)
    local u2 = math.random()
    return sigma * math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
end

function sim.lag(state, target, dt, tau)
    if tau <= 0 then return target end
    return state + (target - state) * (1 - math.exp(-dt / tau))
end

function sim.daily(t, day_seconds)
    local phase = (t % day_seconds) / day_seconds            -- 0 .. 1, 0 = midnight
    -- Cosine bump peaking at 15:00 (phase 0.625), lowest at 03:00.
    return 0.5 - 0.5 * math.cos(2 * math.pi * (phase - 0.125))
end

function sim.clamp(x, lo, hi)
    if x < lo then return lo end
    if x > hi then return hi end
    return x
end

function sim.round(x, places)
    local m = 10 ^ (places or 2)
    return math.floor(x * m + 0.5) / m
end

return sim
