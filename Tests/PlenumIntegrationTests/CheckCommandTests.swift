import Foundation
import PlenumTestSupport
import Testing

/// `plenum check` as an operator runs it: the real binary, its exit code and its output.
@Suite struct CheckCommandTests {
    @Test func validConfigPrintsASummaryAndExitsZero() throws {
        let result = try PlenumBinary.run(["check", "--config", "good.yaml"])
        #expect(result.status == 0)
        #expect(
            result.stdout == """
                good.yaml: OK
                server: 127.0.0.1:0, tick 10 ms, up to 10000 connections
                access: anonymous, this machine only, plaintext
                channels: history 16 versions
                trends: off
                devices: 1
                  counter  /test/counter  plugins/counter.lua

                """
        )
        #expect(result.stderr.isEmpty)
    }

    @Test func invalidConfigPrintsEveryProblemAndExitsOne() throws {
        let result = try PlenumBinary.run(["check", "-c", "five-mistakes.yaml"])
        #expect(result.status == 1)
        let fixtures = PlenumBinary.fixtures
        #expect(
            result.stderr == """
                five-mistakes.yaml:2:9: server.port: 70000 is out of range; expected an integer from 0 to 65535
                five-mistakes.yaml:3:12: server.tick_ms: expected an integer from 0 to 60000, found a string (fast)
                five-mistakes.yaml:6:13: devices[0].script: script 'plugins/missing.lua' not found (looked for \(fixtures)/plugins/missing.lua; relative paths start at the directory of five-mistakes.yaml)
                five-mistakes.yaml:9:5: devices[1].scirpt: unknown key 'scirpt'; did you mean 'script'? (expected one of: name, script, prefix, params, limits, writable)
                five-mistakes.yaml:8:5: devices[1]: missing required key 'script'
                five-mistakes.yaml:10:13: devices[1].prefix: 'plant/line1/ahu-1' is not a valid channel prefix: the path must start with '/'
                6 problems in five-mistakes.yaml

                """
        )
        #expect(result.stdout.isEmpty)
    }

    @Test func anInvalidModbusRegisterMapIsRefusedAtItsLine() throws {
        let result = try PlenumBinary.run(["check", "--config", "bad-modbus-map.yaml"])
        #expect(result.status == 1)
        #expect(
            result.stderr == """
                bad-modbus-map.yaml:9:63: devices[0].params.points[1].type: 'u48' is not a register type; expected one of u16, i16, u32, i32, f32, u64, i64, f64
                1 problem in bad-modbus-map.yaml

                """
        )
    }

    @Test func writableMistakesAreLocatedAndTheShippedChannelsListed() throws {
        let result = try PlenumBinary.run(["check", "--config", "bad-writable.yaml"])
        #expect(result.status == 1)
        #expect(
            result.stderr == """
                bad-writable.yaml:6:58: devices[0].writable[0].max: 4 is below min 12
                bad-writable.yaml:7:46: devices[0].writable[1].values: expected a non-empty list of strings, found a list
                2 problems in bad-writable.yaml

                """
        )
        let shipped = try PlenumBinary.run(["check", "--config", "hub.yaml"], in: PythonClient.repositoryRoot)
        #expect(shipped.status == 0)
        #expect(
            shipped.stdout.contains("writable: 6 channels, answered within 5 s unless set, up to 16 waiting per device")
        )
        #expect(
            shipped.stdout.contains("/plant/line1/chiller-1/setpoint         number 4…12, 10 per 60 s  → chiller-1")
        )
    }

    @Test func scriptPathsResolveAgainstTheConfigNotTheWorkingDirectory() throws {
        let result = try PlenumBinary.run(["check", "--config", PlenumBinary.fixtures + "/good.yaml"], in: "/")
        #expect(result.status == 0)
        #expect(result.stdout.contains("counter  /test/counter  plugins/counter.lua"))
    }

    @Test func aScriptThatDoesNotCompileFailsTheCheckWithItsFileAndLine() throws {
        let result = try PlenumBinary.run(["check", "--config", "broken-script.yaml"])
        #expect(result.status == 1)
        #expect(
            result.stderr == """
                plugins/broken.lua:3: unexpected symbol near '='
                1 script named in broken-script.yaml does not compile

                """
        )
        #expect(result.stdout.isEmpty)
    }

    @Test func scriptErrorsNameThePathFromWhereCheckRuns() throws {
        let config = PlenumBinary.fixtures + "/broken-script.yaml"
        let result = try PlenumBinary.run(["check", "--config", config], in: "/")
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix(PlenumBinary.fixtures + "/plugins/broken.lua:3: unexpected symbol near '='\n"))
    }

    @Test func missingConfigFileIsAClearError() throws {
        let result = try PlenumBinary.run(["check", "--config", "nope.yaml"])
        #expect(result.status == 1)
        #expect(
            result.stderr.hasPrefix(
                "nope.yaml:1:1: the configuration file does not exist; pass --config PATH to name another\n"
            )
        )
    }
}
