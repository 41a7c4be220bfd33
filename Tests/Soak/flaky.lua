-- flaky.lua — the soak test's misbehaving device (Tests/Soak/soak.py; docs/reliability.md, "Soak").
--
-- Publishes a counter five times a second and fails after `fail_after_s` seconds, in turn: with a
-- runtime error, by allocating past its memory cap, and by spinning until the CPU guard stops it.
-- The supervisor restarts it with backoff; each SIGHUP of the soak replaces it (new params), which
-- starts the backoff afresh, so it keeps failing every few seconds for the whole run.
--
-- Channels (relative to the prefix): runs (how many times it started), counter.
local fail_after = hub.params.fail_after_s or 2
local _, runs = hub.read(hub.device.prefix .. "/runs")
runs = (runs or 0) + 1
hub.publish("runs", runs)

local started = hub.monotonic()
local n = 0
while hub.monotonic() - started < fail_after do
    n = n + 1
    hub.publish("counter", n)
    if not hub.sleep(0.2) then return end
end

local mode = runs % 3
if mode == 0 then
    error("soak: planned failure after " .. n .. " publishes")
elseif mode == 1 then
    local hoard = {}
    while true do hoard[#hoard + 1] = string.rep("x", 65536) .. #hoard end -- past memory_mb
else
    while true do end -- until the CPU guard stops it
end
