#ifndef PLENUM_CMODBUS_SHIM_H
#define PLENUM_CMODBUS_SHIM_H

/*
 * The C side of PlenumModbus: libmodbus (pkg-config `libmodbus`, Debian `libmodbus-dev`).
 *
 * libmodbus's error numbers are macros built from an enum, which Swift cannot import; they are
 * exposed here as functions. Nothing else: PlenumModbus is the only module that imports this,
 * with `internal import`, and it turns every status code into a `ModbusError` in one place.
 */

#include <modbus.h>
#include <errno.h>
#include <sys/eventfd.h>

/* errno for "the CRC of an RTU frame does not match". */
static inline int plenum_modbus_errno_bad_crc(void) { return EMBBADCRC; }
/* errno for "the response is not a well-formed answer to the request". */
static inline int plenum_modbus_errno_bad_data(void) { return EMBBADDATA; }
/* errno values below this and above it + 255 are the system's; in between, Modbus exceptions. */
static inline int plenum_modbus_errno_base(void) { return MODBUS_ENOBASE; }

#endif
