-- trend: sliding-window trend estimation (require("trend")).
--
--   local w = trend.window(seconds)     a window of (t, v) samples, t in seconds
--   w:add(t, v)                         adds a sample, drops those older than `seconds`
--   w:fit()                             least-squares line through the samples:
--                                       returns slope (per second), level at the newest t,
--                                       the number of samples, and the mean sample interval;
--                                       nil when fewer than 3 samples or no time spread
--   trend.ewma(previous, value, alpha)  exponentially weighted moving average step
local trend = {}

local Window = {}
Window.__index = Window

function trend.window(seconds)
    return setmetatable({ seconds = seconds, t = {}, v = {} }, Window)
end

function Window:add(t, v)
    local ts, vs = self.t, self.v
    ts[#ts + 1], vs[#vs + 1] = t, v
    local cutoff = t - self.seconds
    local drop = 0
    while drop < #ts and ts[drop + 1] < cutoff do drop = drop + 1 end
    if drop > 0 then
        table.move(ts, drop + 1, #ts, 1)
        table.move(vs, drop + 1, #vs, 1)
        for i = #ts - drop + 1, #ts do ts[i], vs[i] = nil, nil end
    end
end

function Window:fit()
    local ts, vs = self.t, self.v
    local n = #ts
    if n < 3 then return nil end
    local t0 = ts[n]
    local st, sv, stt, stv = 0, 0, 0, 0
    for i = 1, n do
        local x = ts[i] - t0
        st, sv, stt, stv = st + x, sv + vs[i], stt + x * x, stv + x * vs[i]
    end
    local denominator = n * stt - st * st
    if denominator <= 1e-12 then return nil end
    local slope = (n * stv - st * sv) / denominator
    local level = (sv - slope * st) / n          -- the line's value at t0 (newest sample)
    return slope, level, n, (ts[n] - ts[1]) / (n - 1)
end

function trend.ewma(previous, value, alpha)
    if previous == nil then return value end
    return previous + alpha * (value - previous)
end

return trend
