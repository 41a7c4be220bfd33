import PlenumCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct DeadlineTests {
    @Test func infiniteAndHugeDurationsMeanNoLimit() throws {
        #expect(try Deadline(seconds: .infinity).isNever)
        #expect(try Deadline(seconds: 1e19).isNever)
        #expect(try Deadline(seconds: 1e300).isNever)
        #expect(try Deadline(seconds: Deadline.maxSeconds * 2).isNever)
        #expect(Deadline.never.remainingNanoseconds == .max)
        #expect(Deadline.never.remainingMilliseconds(cappedAt: 100) == 100)
        #expect(Deadline.never.monotonicTimespec == nil)
        #expect(!Deadline.never.hasPassed)
    }

    @Test func nanAndNegativeDurationsAreRefused() {
        #expect(throws: Deadline.Problem.notANumber) { try Deadline(seconds: .nan) }
        #expect(throws: Deadline.Problem.negative(-1)) { try Deadline(seconds: -1) }
        #expect(throws: Deadline.Problem.negative(-.infinity)) { try Deadline(seconds: -.infinity) }
    }

    @Test func aFiniteDurationPassesOnTheMonotonicClock() throws {
        let zero = try Deadline(seconds: 0)
        #expect(zero.hasPassed)
        #expect(zero.remainingMilliseconds(cappedAt: 100) == 0)
        let soon = try Deadline(seconds: 0.05)
        #expect(!soon.hasPassed)
        let milliseconds = soon.remainingMilliseconds(cappedAt: 1_000)
        #expect(milliseconds > 0 && milliseconds <= 50)
        #expect(soon.remainingMilliseconds(cappedAt: 10) == 10)
        usleep(60_000)
        #expect(soon.hasPassed)
        #expect(soon.remainingNanoseconds == 0)
    }

    @Test func addingSaturatesInsteadOfOverflowing() throws {
        let late = Deadline(uptimeNanoseconds: .max - 10)
        #expect(late.adding(nanoseconds: 100).isNever)
        #expect(try late.adding(seconds: 1).isNever)
        #expect(try Deadline.never.adding(seconds: 1).isNever)
        let now = Deadline.now()
        #expect(try now.adding(seconds: 1) > now)
        #expect(try now.adding(seconds: 1).monotonicTimespec != nil)
    }

    @Test func systemErrorsNameTheOperationAndReason() {
        let error = SystemError("open /dev/nothing", code: ENOENT)
        #expect(error.description == "open /dev/nothing: No such file or directory")
        #expect(error.code == ENOENT)
    }
}
