-- Keeps copies of a big channel: each hub.read hands the script a fresh 8 MB string.
if hub.read("/e/big/blob") == nil then hub.publish("/e/big/blob", string.rep("x", 8 * 1024 * 1024)) end
local keep = {}
for i = 1, 200 do
    keep[i] = hub.read("/e/big/blob")
end
hub.publish("kept", #keep)
