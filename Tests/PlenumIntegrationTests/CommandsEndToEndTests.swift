import Foundation
import PlenumCore
import PlenumTestSupport
import Testing

/// Writes against the built `plenum` binary, from real clients: Python `websockets` and `curl`.
@Suite(.serialized) struct CommandsEndToEndTests {
    /// `curl -X PUT` with a JSON body: the status and the answer.
    private func curl(_ port: Int, _ path: String, _ body: String) throws -> (status: Int, body: JSONValue?) {
        let result = try ChildProcess.run(
            "/usr/bin/curl",
            [
                "-sS", "-X", "PUT", "-H", "Content-Type: application/json", "--data", body, "-w", "\n%{http_code}",
                "--max-time", "30", "http://127.0.0.1:\(port)/api/channels\(path)",
            ],
            timeout: 40
        )
        let lines = result.stdout.split(separator: "\n")
        let status = Int(lines.last ?? "") ?? 0
        let json = lines.dropLast().joined(separator: "\n")
        return (status, try? JSONParser.parse(Array(json.utf8)))
    }

    private func records(_ port: Int) throws -> [JSONValue] {
        let audit = try PythonClient.run("audit_history", port: port)
        #expect(audit["recovered"] == .bool(true))
        guard case .array(let records)? = audit["records"] else { return [] }
        return records
    }

    /// The operator's task from the quick start: change a chiller's setpoint on each line and
    /// watch the plant respond. Line 1 goes through Modbus (modbus_device.lua writes the
    /// simulated controller's register), line 2 straight to the simulation.
    @Test func setpointsOnBothLinesMoveTheSupplyAndTheSetpointFollows() throws {
        let plant = try RunCommandTests.shippedPlant()
        defer { try? FileManager.default.removeItem(atPath: plant.directory) }
        let hub = try RunCommandTests.runHub(in: plant.directory)
        defer { hub.kill() }
        let port = try #require(hub.waitForPort())
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline,
            try PythonClient.run("get", port: port, ["/api/channels/plant/line1/chiller-1/setpoint"])["status"]
                != .integer(200)
        {
            usleep(200_000)
        }
        // Up on line 1, down on line 2 (its injected fault drifts upward after 30 s).
        for (line, chiller, value) in [("line1", "chiller-1", "10"), ("line2", "chiller-2", "4.5")] {
            let seen = try PythonClient.run(
                "setpoint_follows",
                port: port,
                ["/plant/\(line)/\(chiller)/setpoint", "/plant/\(line)/\(chiller)/supply_temp", value, "0.5"]
            )
            #expect(seen["answer"]?["ok"] == .bool(true), "\(line): \(seen)")
            #expect(seen["setpoint_followed"] == .bool(true), "\(line): \(seen)")
            #expect((seen["moved_toward_setpoint"]?.numberValue ?? 0) >= 0.5, "\(line): \(seen)")
        }
        // REST with curl: an AHU's supply setpoint, a predictor reset, and refusals.
        let ahu = try curl(port, "/plant/line1/ahu-1/supply_setpoint", "16")
        #expect(ahu.status == 200)
        #expect(ahu.body == .object(["channel": .string("/plant/line1/ahu-1/supply_setpoint"), "ok": .bool(true)]))
        #expect(try curl(port, "/plant/line2/chiller-2/predictor/reset", #"{"value": true}"#).status == 200)
        let high = try curl(port, "/plant/line2/chiller-2/setpoint", "25")
        #expect(high.status == 422)
        #expect(high.body?["code"] == .string("out_of_range"))
        #expect(high.body?["message"] == .string("25 is above the maximum 12 of /plant/line2/chiller-2/setpoint"))
        let sensor = try curl(port, "/plant/line2/chiller-2/supply_temp", "5")
        #expect(sensor.status == 405)
        #expect(sensor.body?["code"] == .string("not_writable"))
        #expect(
            try PythonClient.run("get", port: port, ["/api/channels/plant/line1/ahu-1/supply_setpoint"])["body"]?[
                "value"
            ] == .double(16)
        )
        // Every attempt, accepted or not, in order.
        let audit = try records(port)
        #expect(
            audit.map { [$0["channel"], $0["result"], $0["via"], $0["who"]] }
                == [
                    ["/plant/line1/chiller-1/setpoint", "ok", "ws"], ["/plant/line2/chiller-2/setpoint", "ok", "ws"],
                    ["/plant/line1/ahu-1/supply_setpoint", "ok", "rest"],
                    ["/plant/line2/chiller-2/predictor/reset", "ok", "rest"],
                    ["/plant/line2/chiller-2/setpoint", "out_of_range", "rest"],
                    ["/plant/line2/chiller-2/supply_temp", "not_writable", "rest"],
                ].map { $0.map { .string($0) } + [.string("anonymous")] }
        )
        #expect(audit.first?["value"] == .double(10))
        #expect(audit.allSatisfy { $0["ts"]?.numberValue != nil })
        // And in the hub's log, with who wrote what.
        #expect(hub.waitFor("write.value=10.0") != nil)
        #expect(hub.waitFor("write.who=anonymous") != nil)
        hub.signal(SIGTERM)
        #expect(hub.waitForExit() == 0)
    }

    /// A script that never answers: the client gets `timeout` after the channel's `timeout_s`.
    /// A script that fails between taking a write and answering it: `device_unavailable`, at
    /// once, and again while it waits to restart.
    @Test func aSilentDeviceTimesOutAndACrashedOneIsUnavailable() async throws {
        let yaml = """
            devices:
              - name: silent
                script: plugins/never_ack.lua
                prefix: /e/silent
                writable:
                  - { channel: setpoint, type: number, timeout_s: 0.5 }
              - name: crashy
                script: plugins/crash_on_write.lua
                prefix: /e/crashy
                writable:
                  - { channel: setpoint, type: number }

            """
        let directory = try HubDirectory(yaml: yaml, fixtures: ["never_ack.lua", "crash_on_write.lua"])
        let port = try #require(try directory.start())
        #expect(await directory.eventually { directory.status("crashy")?["state"] == .string("running") })
        #expect(await directory.eventually { directory.status("silent")?["state"] == .string("running") })
        let seen = try PythonClient.run("write", port: port, ["/e/silent/setpoint", "1", "/e/crashy/setpoint", "2"])
        #expect(
            seen["1"]
                == .array([
                    .object([
                        "type": .string("written"), "id": .integer(1), "channel": .string("/e/silent/setpoint"),
                        "ok": .bool(false), "code": .string("timeout"),
                        "message": .string("device 'silent' did not answer within 0.5 s (after the script took it)"),
                    ])
                ])
        )
        #expect(
            seen["2"]
                == .array([
                    .object([
                        "type": .string("written"), "id": .integer(2), "channel": .string("/e/crashy/setpoint"),
                        "ok": .bool(false), "code": .string("device_unavailable"),
                        "message": .string(
                            "device 'crashy' crashed (crash_on_write.lua:7: lost the controller while writing setpoint) before it answered"
                        ),
                    ])
                ])
        )
        #expect(directory.value("/e/silent/took") != nil)
        #expect(await directory.eventually { (directory.status("crashy")?["restarts"]?.numberValue ?? 0) >= 1 })
        // Restarting (or crashed again, if it was back up already): never an answer from nowhere.
        let again = try PythonClient.run("write", port: port, ["/e/crashy/setpoint", "3"])
        if case .array(let answers)? = again["1"], let answer = answers.first, answers.count == 1 {
            #expect(answer["code"] == .string("device_unavailable"))
            let message = answer["message"]?.stringValue ?? ""
            #expect(
                message.hasPrefix("device 'crashy' is restarting after an error (crash_on_write.lua:7:")
                    || message.hasPrefix("device 'crashy' crashed (crash_on_write.lua:7:"),
                "\(message)"
            )
        } else {
            Issue.record("not answered once: \(again)")
        }
        // In the order they were settled: the crash at once, the timeout half a second later.
        let audit = try records(port)
        #expect(
            audit.map { [$0["channel"], $0["result"]] }
                == [
                    ["/e/crashy/setpoint", "device_unavailable"], ["/e/silent/setpoint", "timeout"],
                    ["/e/crashy/setpoint", "device_unavailable"],
                ].map { $0.map { .string($0) } }
        )
        directory.hub?.signal(SIGTERM)
        #expect(directory.hub?.waitForExit() == 0)
    }
}
