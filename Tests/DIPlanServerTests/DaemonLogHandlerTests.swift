import DIPlanServer
import Glibc
import Testing

@Suite("The daemon's log handler", .serialized)
struct DaemonLogHandlerTests {
    /// Without TZ, glibc stats /etc/localtime for every log line's time; the daemon names the zone once.
    @Test func theLocalTimeZoneIsNamedOnceWhenNothingNamesIt() {
        let saved = getenv("TZ").map { String(cString: $0) }
        defer {
            if let saved { setenv("TZ", saved, 1) } else { unsetenv("TZ") }
        }
        unsetenv("TZ")
        DaemonLogHandler.pinLocalTimeZone()
        #expect(getenv("TZ").map { String(cString: $0) } == ":/etc/localtime")
        // A zone the operator chose is kept.
        setenv("TZ", "UTC", 1)
        DaemonLogHandler.pinLocalTimeZone()
        #expect(getenv("TZ").map { String(cString: $0) } == "UTC")
    }
}
