-- A pump controller that publishes once, then fails as a lost serial device would: the device
-- goes to backoff with this error as last_error, and restarts.
hub.publish("speed_pct", 62.5)
hub.sleep(0.2)
error("pump controller lost: no answer on /dev/ttyUSB3")
