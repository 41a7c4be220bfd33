-- Tries the escape named by params.attempt; each must fail inside the sandbox.
local attempts = {
    execute = function() return os.execute("touch /tmp/plenum-escaped") end,
    io_open = function() return io.open("/etc/passwd") end,
    require_outside = function() return require("../../secret") end,
    bytecode = function() return load(string.dump(function() end)) end,
    load_binary = function() return load("\27LuaT\0", "x", "b") end,
    dofile = function() return dofile("/etc/passwd") end,
}
attempts[hub.params.attempt]()
