local config = nil
local setpoint = config.setpoint
