import Testing

@testable import PlenumCore

@Suite struct ChannelPathTests {
    @Test(arguments: ["/a", "/plant/line1/chiller-1/supply_temp", "/x/ü/€", "/a.b/c-d/e_f"])
    func acceptsValidPaths(_ text: String) throws {
        #expect(try ChannelPath(text).string == text)
    }

    @Test func rejectsInvalidPathsWithTheReason() {
        #expect(throws: ChannelPath.Problem.empty) { try ChannelPath("") }
        #expect(throws: ChannelPath.Problem.missingLeadingSlash) { try ChannelPath("plant/a") }
        #expect(throws: ChannelPath.Problem.emptySegment) { try ChannelPath("/plant//a") }
        #expect(throws: ChannelPath.Problem.emptySegment) { try ChannelPath("/plant/") }
        #expect(throws: ChannelPath.Problem.emptySegment) { try ChannelPath("/") }
        #expect(throws: ChannelPath.Problem.wildcardSegment("*")) { try ChannelPath("/plant/*") }
        #expect(throws: ChannelPath.Problem.wildcardSegment("**")) { try ChannelPath("/plant/**") }
        #expect(throws: ChannelPath.Problem.forbiddenCharacter("*")) { try ChannelPath("/plant/a*") }
        #expect(throws: ChannelPath.Problem.forbiddenCharacter(" ")) { try ChannelPath("/plant/a b") }
        #expect(throws: ChannelPath.Problem.forbiddenCharacter("\n")) { try ChannelPath("/plant/a\nb") }
        #expect(throws: ChannelPath.Problem.tooLong(1026)) {
            try ChannelPath("/" + String(repeating: "a", count: 1025))
        }
    }

    @Test func resolvesRelativePathsAgainstAPrefix() throws {
        let prefix = try ChannelPath("/plant/line1/chiller-1")
        #expect(try prefix.resolving("supply_temp").string == "/plant/line1/chiller-1/supply_temp")
        #expect(try prefix.resolving("pump/speed").string == "/plant/line1/chiller-1/pump/speed")
        #expect(try prefix.resolving("/other/x").string == "/other/x")
        #expect(throws: ChannelPath.Problem.emptySegment) { try prefix.resolving("") }
    }
}

@Suite struct ChannelPatternTests {
    private func matches(_ pattern: String, _ path: String) throws -> Bool {
        try ChannelPattern(pattern).matches(ChannelPath(path))
    }

    @Test func exactPatternMatchesOnlyItsPath() throws {
        #expect(try matches("/a/b", "/a/b"))
        #expect(try !matches("/a/b", "/a/b/c"))
        #expect(try !matches("/a/b", "/a"))
        #expect(try !matches("/a/b", "/a/bc"))
        #expect(try ChannelPattern("/a/b").isExact)
    }

    @Test func starMatchesExactlyOneSegment() throws {
        #expect(try matches("/plant/*/chiller-1", "/plant/line1/chiller-1"))
        #expect(try !matches("/plant/*/chiller-1", "/plant/chiller-1"))
        #expect(try !matches("/plant/*/chiller-1", "/plant/a/b/chiller-1"))
        #expect(try matches("/*", "/x"))
        #expect(try !matches("/*", "/x/y"))
        #expect(try !ChannelPattern("/a/*").isExact)
    }

    @Test func doubleStarMatchesAnyRemainderIncludingNothing() throws {
        #expect(try matches("/plant/line1/**", "/plant/line1"))
        #expect(try matches("/plant/line1/**", "/plant/line1/a"))
        #expect(try matches("/plant/line1/**", "/plant/line1/a/b/c"))
        #expect(try !matches("/plant/line1/**", "/plant/line2/a"))
        #expect(try !matches("/plant/line1/**", "/plant"))
        #expect(try matches("/**", "/anything/at/all"))
        #expect(try matches("/*/x/**", "/a/x/b"))
    }

    @Test func rejectsBadPatterns() {
        #expect(throws: ChannelPattern.Problem.doubleStarNotLast) { try ChannelPattern("/a/**/b") }
        #expect(throws: ChannelPattern.Problem.path(.forbiddenCharacter("*"))) { try ChannelPattern("/a/b*") }
        #expect(throws: ChannelPattern.Problem.path(.missingLeadingSlash)) { try ChannelPattern("a") }
    }
}

/// Findings of the channel fuzz target (Tests/Fuzz/Channel), kept as tests.
@Suite struct ChannelPathUnicodeTests {
    @Test func aCombiningMarkAfterASlashDoesNotHideTheSeparator() throws {
        // "/\u{5A6}" is one Character; the path still has two segments, as matching sees it.
        let path = try ChannelPath("/a/\u{5A6}")
        #expect(try ChannelPattern(path.string).matches(path))
        #expect(try ChannelPattern("/a/*").matches(path))
        #expect(try !ChannelPattern("/*").matches(path))
        #expect(throws: ChannelPath.Problem.emptySegment) { try ChannelPath("/a//\u{301}") }
        #expect(try ChannelPattern("/*").matches(ChannelPath("/\u{301}a")))
    }

    @Test func aStarWithACombiningMarkIsNotAWildcard() {
        #expect(throws: ChannelPath.Problem.forbiddenCharacter("*")) { try ChannelPath("/a/*\u{301}") }
        #expect(throws: ChannelPattern.Problem.path(.forbiddenCharacter("*"))) {
            try ChannelPattern("/a/*\u{301}")
        }
    }

    @Test func pathsAreComparedByteForByte() throws {
        let precomposed = try ChannelPath("/caf\u{E9}")
        let decomposed = try ChannelPath("/cafe\u{301}")
        #expect(precomposed != decomposed)
        #expect(Set([precomposed, decomposed]).count == 2)
        #expect(try ChannelPattern(precomposed.string).matches(precomposed))
        #expect(try !ChannelPattern(precomposed.string).matches(decomposed))
        #expect(try ChannelPattern(precomposed.string) != ChannelPattern(decomposed.string))
        #expect(decomposed < precomposed)  // "e" (0x65) sorts before "é" (0xC3 0xA9)
    }
}
