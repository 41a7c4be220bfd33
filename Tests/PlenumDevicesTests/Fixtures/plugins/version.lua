-- Publishes which version of the script is running.
while hub.sleep(0.02) do
    hub.publish("version", "v1")
end
