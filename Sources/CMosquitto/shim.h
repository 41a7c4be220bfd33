// libmosquitto (Debian libmosquitto-dev), imported only by PlenumBridge.
#include <mosquitto.h>
#include <mqtt_protocol.h>
