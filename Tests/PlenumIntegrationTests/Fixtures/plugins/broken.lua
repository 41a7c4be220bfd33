-- A syntax error on line 3, for `plenum check`.
local ok = 1
local broken = = 1
