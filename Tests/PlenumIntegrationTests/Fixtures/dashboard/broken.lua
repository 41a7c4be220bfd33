-- Does not compile (line 3): the device stays `failed` until the file is fixed.
local ok = 1
local broken = = 1
