-- predictor.lua — a threshold predictor for one channel.
--
-- Waits on the watched channel (hub.wait: no polling), smooths each sample with an EWMA, keeps
-- a sliding window, fits a least-squares trend through it (like PromQL's predict_linear) and
-- publishes a forecast and an alarm state. The EWMA delays the smoothed series by about
-- interval * (1 - alpha) / alpha; the forecast adds that back so time-to-threshold is unbiased
-- on a ramp.
--
-- Alarm states, with hysteresis and a persistence delay so noise does not make them flap:
--   ok         nothing expected within the horizon
--   predicted  the trend reaches the threshold within horizon_s (held for persistence_s)
--   alarm      the smoothed value is past the threshold (held for persistence_s)
--   clear      back inside threshold ∓ hysteresis after an alarm (held for persistence_s);
--              becomes ok after persistence_s more
--
-- Params (defaults):
--   watch                  channel to watch (absolute path; required)
--   threshold              the limit (required)
--   direction = "above"    "above": alarm when the value rises past threshold; "below": falls
--   window_s = 120         trend window, seconds
--   horizon_s = 300        how far ahead to predict, seconds
--   alpha = 0.3            EWMA smoothing factor (0 < alpha <= 1; 1 = no smoothing)
--   hysteresis = 0.3       distance back inside the threshold needed to clear
--   persistence_s = 10     how long a condition must hold before the state changes
--
-- Channels (relative to the device prefix):
--   forecast  { value (smoothed), sample (raw), slope_per_min, predicted, horizon_s,
--               seconds_to_threshold (absent when not heading for the threshold),
--               threshold, direction }
--   alarm     "ok" | "predicted" | "alarm" | "clear"
--
-- Writes: true written to <prefix>/reset (an operator acknowledging an alarm) forgets the
-- history — smoothing, trend window, pending state — and goes back to "ok"; a condition that
-- persists raises the alarm again after persistence_s.
--
-- hub.yaml:
--   - name: chiller-1-predictor
--     script: plugins/predictor.lua
--     prefix: /plant/line1/chiller-1/predictor
--     params: { watch: /plant/line1/chiller-1/supply_temp, threshold: 9.0 }
--     writable:
--       - { channel: reset, type: boolean }

local trend = require("trend")
local p = hub.params

local watch = assert(p.watch, "params.watch (the channel to watch) is required")
local threshold = assert(p.threshold, "params.threshold is required")
local direction = p.direction or "above"
assert(direction == "above" or direction == "below", "params.direction must be \"above\" or \"below\"")
local sign = direction == "above" and 1 or -1
local horizon = p.horizon_s or 300
local alpha = p.alpha or 0.3
local hysteresis = p.hysteresis or 0.3
local persistence = p.persistence_s or 10
local window = trend.window(p.window_s or 120)

local state = "ok"
local pending, pending_since = nil, nil   -- a candidate next state and when it was first seen
local smoothed = nil
local last = nil

--- Moves to `candidate` once it has been wanted continuously for `persistence` seconds.
local function want(candidate, t)
    if candidate == state then
        pending, pending_since = nil, nil
        return
    end
    if candidate ~= pending then pending, pending_since = candidate, t end
    if t - pending_since >= persistence then
        hub.log.info("alarm state", state, "->", candidate, "for", watch)
        state, pending, pending_since = candidate, nil, nil
    end
end

hub.publish("alarm", state)

--- A client wrote to `reset`: start over from "ok".
local function reset(cmd)
    if cmd.channel ~= "reset" then
        hub.ack(cmd, false, "this script does not handle writes to " .. cmd.channel)
    elseif cmd.value ~= true then
        hub.ack(cmd, true, "nothing to do (write true to reset)")
    else
        smoothed, pending, pending_since = nil, nil, nil
        window = trend.window(p.window_s or 120)
        hub.log.info("reset by", cmd.who, "from", state)
        state = "ok"
        hub.publish("alarm", state)
        hub.ack(cmd, true)
    end
end

while true do
    local changes, why = hub.wait(watch, last, 60)
    if changes == nil then
        if why == "stopping" then break end
        if why == "commands" then
            for _, cmd in ipairs(hub.commands(0) or {}) do reset(cmd) end
        end
    else
        for _, change in ipairs(changes) do
            last = change.version
            local t = change.ts / 1e6
            if type(change.value) == "number" then
                smoothed = trend.ewma(smoothed, change.value, alpha)
                window:add(t, smoothed)
                local slope, level, n, interval = window:fit()
                local forecast = { value = smoothed, sample = change.value, threshold = threshold,
                                   direction = direction, horizon_s = horizon }
                local eta = nil
                if slope then
                    local now_level = level + slope * interval * (1 - alpha) / alpha
                    forecast.slope_per_min = slope * 60
                    forecast.predicted = now_level + slope * horizon
                    if sign * slope > 0 and sign * (threshold - now_level) > 0 then
                        eta = (threshold - now_level) / slope
                    elseif sign * (now_level - threshold) >= 0 then
                        eta = 0
                    end
                    forecast.seconds_to_threshold = eta
                end
                hub.publish("forecast", forecast)

                local past = sign * (smoothed - threshold) >= 0
                local inside = sign * (threshold - smoothed) >= hysteresis
                local coming = eta ~= nil and eta <= horizon
                if state == "alarm" then
                    want(inside and "clear" or "alarm", t)
                elseif state == "clear" then
                    want(past and "alarm" or (inside and "ok" or "clear"), t)
                elseif past then
                    want("alarm", t)
                elseif state == "predicted" then
                    want((eta == nil or eta > horizon * 1.2) and "ok" or "predicted", t)
                else
                    want(coming and "predicted" or "ok", t)
                end
                hub.publish("alarm", state)
            end
        end
    end
end
