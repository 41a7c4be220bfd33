"""A simulated BACnet/IP device for Plenum's tests, on bacpypes3 (pinned in the Makefile).

    bacnet_peer.py --instance 4242 --address 127.0.0.1/8:47809 [--period 1]

Objects:
- analog-input:1 "supply-temp": present-value rises by 0.5 every `--period` seconds (COV
  increment 0.1, so every step is a change of value);
- analog-value:1 "setpoint": commandable (priority array, relinquish-default 21.0);
- analog-value:2 "outdoor-temp": 12.5, refuses COV subscriptions (services/cov-subscription-failed);
- binary-value:1 "pump-run": active.

Prints one JSON line per event on stdout: {"event": "ready"} once serving, then
{"event": "priority-array", "value": [...16 slots, null when empty...], "present_value": x}
for every write to analog-value:1's priority array, so tests check writes at the peer itself.
"""

import asyncio
import json

from bacpypes3.argparse import SimpleArgumentParser
from bacpypes3.app import Application
from bacpypes3.local.analog import AnalogInputObject, AnalogValueObject, AnalogValueObjectCmd
from bacpypes3.local.binary import BinaryValueObject


def slots(priority_array):
    out = []
    for value in priority_array:
        if value is None or getattr(value, "null", None) is not None:
            out.append(None)
        else:
            out.append(getattr(value, "real", None))
    return out


class ReportingSetpoint(AnalogValueObjectCmd):
    """A commandable analog-value that reports every change of its priority array."""

    def recalculating(self):
        super().recalculating()
        print(
            json.dumps(
                {"event": "priority-array", "value": slots(self.priorityArray), "present_value": self.presentValue}
            ),
            flush=True,
        )


class NoCOVValue(AnalogValueObject):
    """An analog-value without change-of-value support."""

    _cov_criteria = None


async def main():
    parser = SimpleArgumentParser()
    parser.add_argument("--period", type=float, default=1.0)
    args = parser.parse_args()
    app = Application.from_args(args)
    supply = AnalogInputObject(
        objectIdentifier=("analog-input", 1),
        objectName="supply-temp",
        presentValue=20.0,
        statusFlags=[0, 0, 0, 0],
        covIncrement=0.1,
        units="degreesCelsius",
        description="chilled water supply temperature",
    )
    setpoint = ReportingSetpoint(
        objectIdentifier=("analog-value", 1),
        objectName="setpoint",
        presentValue=21.0,
        relinquishDefault=21.0,
        statusFlags=[0, 0, 0, 0],
        covIncrement=0.1,
        units="degreesCelsius",
    )
    outdoor = NoCOVValue(
        objectIdentifier=("analog-value", 2),
        objectName="outdoor-temp",
        presentValue=12.5,
        statusFlags=[0, 0, 0, 0],
        units="degreesCelsius",
    )
    pump = BinaryValueObject(
        objectIdentifier=("binary-value", 1),
        objectName="pump-run",
        presentValue="active",
        statusFlags=[0, 0, 0, 0],
    )
    for obj in (supply, setpoint, outdoor, pump):
        app.add_object(obj)
    print(json.dumps({"event": "ready"}), flush=True)
    step = 0
    while True:
        await asyncio.sleep(args.period)
        step += 1
        supply.presentValue = 20.0 + step * 0.5


if __name__ == "__main__":
    asyncio.run(main())
