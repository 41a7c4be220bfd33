#!/usr/bin/env python3
"""A simulated Modbus device for Plenum's tests: pymodbus 3.16 (SimDevice/SimData) over TCP or RTU.

    modbus_peer.py tcp PORT [--unit N] [--log-reads]
    modbus_peer.py rtu DEVICE [--baud 9600] [--unit N] [--log-reads]
    modbus_peer.py hangup PORT

Prints one JSON line when it is serving:

    {"ready": true, "vectors": [{"type": "f32", "order": "CDAB", "address": 12,
                                 "registers": [...], "value": 42.4242}, ...]}

then one JSON line per write a client makes: {"write": {"function": 16, "address": 100,
"values": [1, 2]}}; with --log-reads, also one line per read request it answers:
{"read": {"function": 3, "address": 1000, "count": 125}}. Its register map (unit 1 by default):

- holding and input registers 0…79: every type (u16 i16 u32 i32 f32 u64 i64 f64) in every
  order (ABCD CDAB BADC DCBA), laid out as the "vectors" line says; the registers are computed
  here with struct.pack, independently of Plenum's codec;
- holding 100…224: writable, 0 at start (a whole 125-register request fits);
- holding 900…909: exist, but every request touching them answers "slave device busy";
- holding 950…959 (RTU only): answered with a corrupted CRC;
- holding 1000…1299: read-only, each register holding its own address (more than one request's
  worth: 300 registers);
- anything else: "illegal data address";
- coils 0…15 and discrete inputs 0…15: the bit patterns COILS and DISCRETE, coils writable.

`hangup` is no Modbus device: it accepts TCP connections on PORT and closes each at once,
printing {"connection": N} for the N-th — a device that is unreachable, counted per attempt.
"""

import argparse
import asyncio
import json
import struct
import sys

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

TYPES = [("u16", ">H", 0xBEEF), ("i16", ">h", -2), ("u32", ">I", 3000000000), ("i32", ">i", -123456789),
         ("f32", ">f", 42.4242), ("u64", ">Q", 0x0102030405060708), ("i64", ">q", -2),
         ("f64", ">d", -1234.5678)]
ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"]
COILS = [True, False, True, True, False, False, False, True, False, True, False, False, True, True, True, False]
DISCRETE = [False, True, True, False, True, False, False, False, True, True, True, True, False, False, False, True]


def words(data: bytes, order: str) -> list[int]:
    pairs = [(data[i], data[i + 1]) for i in range(0, len(data), 2)]
    if order in ("BADC", "DCBA"):
        pairs = [(b, a) for a, b in pairs]
    if order in ("CDAB", "DCBA"):
        pairs.reverse()
    return [a << 8 | b for a, b in pairs]


def vectors() -> list[dict]:
    out, address = [], 0
    for order in ORDERS:
        for name, fmt, value in TYPES:
            data = struct.pack(fmt, value)
            if name == "f32":
                value = struct.unpack(">f", data)[0]
            regs = words(data, order)
            out.append({"type": name, "order": order, "address": address, "registers": regs, "value": value})
            address += len(regs)
    return out


def emit(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


LOG_READS = False


async def action(function_code, start_address, address, count, registers, set_values):
    if function_code in (3, 6, 16) and address + count > 900 and address < 910:
        return ExcCodes.DEVICE_BUSY
    if LOG_READS and set_values is None and function_code in (1, 2, 3, 4):
        emit({"read": {"function": function_code, "address": address, "count": count}})
    if set_values is not None:
        emit({"write": {"function": function_code, "address": address,
                        "values": [int(v) if not isinstance(v, bool) else v for v in set_values]}})
    return None


def device(unit: int, table: list[dict]) -> SimDevice:
    regs = [r for v in table for r in v["registers"]]
    holding = [SimData(0, values=regs, datatype=DataType.REGISTERS),
               SimData(100, count=125, values=0, datatype=DataType.REGISTERS),
               SimData(900, count=10, values=7, datatype=DataType.REGISTERS),
               SimData(950, count=10, values=9, datatype=DataType.REGISTERS),
               SimData(1000, values=list(range(1000, 1300)), datatype=DataType.REGISTERS)]
    inputs = [SimData(0, values=regs, datatype=DataType.REGISTERS)]
    coils = [SimData(0, values=COILS, datatype=DataType.BITS)]
    discrete = [SimData(0, values=DISCRETE, datatype=DataType.BITS)]
    return SimDevice(id=unit, simdata=(coils, discrete, holding, inputs), action=action)


class CrcCorrupter:
    """Corrupts the CRC of every RTU response to a read of holding registers 950…959."""

    def __init__(self):
        self.corrupt_next = False

    def __call__(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            self.corrupt_next = len(data) >= 4 and data[1] == 3 and 950 <= (data[2] << 8 | data[3]) < 960
            return data
        if self.corrupt_next and data:
            self.corrupt_next = False
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        return data


async def hang_up(port: int) -> None:
    connections = 0

    async def accepted(reader, writer):
        nonlocal connections
        connections += 1
        emit({"connection": connections})
        writer.close()

    server = await asyncio.start_server(accepted, "127.0.0.1", port)
    emit({"ready": True, "vectors": []})
    async with server:
        await server.serve_forever()


async def main() -> None:
    global LOG_READS
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["tcp", "rtu", "hangup"])
    parser.add_argument("where")
    parser.add_argument("--unit", type=int, default=1)
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--log-reads", action="store_true")
    args = parser.parse_args()
    LOG_READS = args.log_reads
    if args.transport == "hangup":
        await hang_up(int(args.where))
        return
    table = vectors()
    if args.transport == "tcp":
        server = ModbusTcpServer(device(args.unit, table), address=("127.0.0.1", int(args.where)))
    else:
        server = ModbusSerialServer(device(args.unit, table), port=args.where, baudrate=args.baud,
                                    trace_packet=CrcCorrupter())
    await server.serve_forever(background=True)
    emit({"ready": True, "vectors": table})
    await server.serving


if __name__ == "__main__":
    asyncio.run(main())
