import PlenumCore
import Testing

/// Validation of written values against a `writable:` declaration, for every type.
@Suite struct WritableChannelTests {
    private let path = try! ChannelPath("/plant/c/setpoint")

    private func channel(_ kind: WritableChannel.Kind, min: Double? = nil, max: Double? = nil) -> WritableChannel {
        WritableChannel(path: path, name: "setpoint", kind: kind, minimum: min, maximum: max)
    }

    private func code(_ result: Result<JSONValue, WriteOutcome>) -> WriteOutcome.Code? {
        if case .failure(let outcome) = result { return outcome.code }
        return nil
    }

    @Test func numbersAreFloatsWithinTheirBounds() {
        let number = channel(.number, min: 4, max: 12)
        #expect(number.validate(.double(7.5)) == .success(.double(7.5)))
        #expect(number.validate(.integer(7)) == .success(.double(7)))
        #expect(number.validate(.integer(4)) == .success(.double(4)))
        #expect(number.validate(.double(12)) == .success(.double(12)))
        #expect(
            number.validate(.double(12.01))
                == .failure(WriteOutcome(.outOfRange, "12.01 is above the maximum 12 of /plant/c/setpoint"))
        )
        #expect(
            number.validate(.integer(3))
                == .failure(WriteOutcome(.outOfRange, "3 is below the minimum 4 of /plant/c/setpoint"))
        )
        #expect(
            number.validate(.string("7"))
                == .failure(WriteOutcome(.wrongType, "/plant/c/setpoint takes a number, got a string"))
        )
        for wrong: JSONValue in [.null, .bool(true), .array([.integer(7)]), .object(["value": .integer(7)])] {
            #expect(code(number.validate(wrong)) == .wrongType)
        }
        #expect(channel(.number).validate(.double(-1e300)) == .success(.double(-1e300)))
    }

    @Test func integersAcceptIntegralFloatsAndRefuseFractionsAndHugeValues() {
        let integer = channel(.integer, min: 0, max: 100)
        #expect(integer.validate(.integer(42)) == .success(.integer(42)))
        #expect(integer.validate(.double(42.0)) == .success(.integer(42)))
        #expect(
            integer.validate(.double(42.5))
                == .failure(WriteOutcome(.wrongType, "/plant/c/setpoint takes an integer, got 42.5"))
        )
        #expect(code(integer.validate(.integer(101))) == .outOfRange)
        #expect(code(integer.validate(.integer(-1))) == .outOfRange)
        #expect(code(channel(.integer).validate(.double(1e300))) == .wrongType)
        #expect(code(channel(.integer).validate(.double(9.3e18))) == .wrongType)
        #expect(channel(.integer).validate(.integer(.min)) == .success(.integer(.min)))
        #expect(code(integer.validate(.bool(true))) == .wrongType)
    }

    @Test func booleansAreTrueOrFalse() {
        let flag = channel(.boolean)
        #expect(flag.validate(.bool(true)) == .success(.bool(true)))
        #expect(flag.validate(.bool(false)) == .success(.bool(false)))
        #expect(
            flag.validate(.integer(1))
                == .failure(WriteOutcome(.wrongType, "/plant/c/setpoint takes true or false, got the integer 1"))
        )
        #expect(code(flag.validate(.string("true"))) == .wrongType)
    }

    @Test func stringsAreBoundedAndEnumsAreOneOfTheirValues() {
        var text = channel(.string)
        text.maxLength = 4
        #expect(text.validate(.string("abcd")) == .success(.string("abcd")))
        #expect(
            text.validate(.string("abcdé"))
                == .failure(WriteOutcome(.outOfRange, "/plant/c/setpoint takes at most 4 bytes of text, got 6"))
        )
        #expect(code(text.validate(.integer(1))) == .wrongType)
        let mode = channel(.enumeration(["auto", "on", "off"]))
        #expect(mode.validate(.string("on")) == .success(.string("on")))
        #expect(
            mode.validate(.string("ON"))
                == .failure(
                    WriteOutcome(.outOfRange, #"/plant/c/setpoint takes one of "auto", "on", "off", got "ON""#)
                )
        )
        #expect(
            mode.validate(.bool(true))
                == .failure(
                    WriteOutcome(.wrongType, #"/plant/c/setpoint takes one of "auto", "on", "off", got true"#)
                )
        )
    }
}
