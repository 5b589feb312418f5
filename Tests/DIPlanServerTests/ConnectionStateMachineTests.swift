import DIPlanServer
import DIPlanTestSupport
import DIPlanWire
import SwiftProtobuf
import Testing

/// The connection's life driven by hand: bytes in any cut, the end of input,
/// and ticks of a clock that only the test moves. No socket, no sleep.
@Suite("A connection's state machine")
struct ConnectionStateMachineTests {
    static let start = ContinuousClock.now
    static let timeouts = ConnectionStateMachine.Timeouts(read: 500, idle: 2_000, write: 1_000)

    static func machine(maximumFrameLength: Int = 4_096) -> ConnectionStateMachine {
        ConnectionStateMachine(maximumFrameLength: maximumFrameLength, timeouts: timeouts, now: start)
    }

    static func at(_ milliseconds: Int) -> ContinuousClock.Instant { start + .milliseconds(milliseconds) }

    static func call(_ id: UInt64, _ method: String = "/diplan.v1.Plans/GetPlan", payload: [UInt8] = [1, 2, 3]) -> [UInt8] {
        var frame = Diplan_Rpc_V1_RequestFrame()
        frame.callID = id
        frame.method = method
        frame.payload = .init(payload)
        return FrameEncoder.frame(try! frame.serializedBytes())
    }

    static func frame(_ id: UInt64, kind: Diplan_Rpc_V1_FrameKind) -> [UInt8] {
        var frame = Diplan_Rpc_V1_RequestFrame()
        frame.callID = id
        frame.kind = kind
        return FrameEncoder.frame(try! frame.serializedBytes())
    }

    /// Everything the machine does with `bytes` fed in the pieces `cuts` makes.
    static func actions(
        _ bytes: [UInt8], cutAt cuts: [Int], machine: inout ConnectionStateMachine
    ) -> [ConnectionStateMachine.Action] {
        var actions: [ConnectionStateMachine.Action] = []
        var from = 0
        for cut in (cuts + [bytes.count]).sorted() where cut >= from {
            machine.received(Array(bytes[from..<cut]), at: at(0))
            from = cut
            while let action = machine.next() { actions.append(action) }
        }
        return actions
    }

    static func calledIDs(_ actions: [ConnectionStateMachine.Action]) -> [UInt64] {
        actions.compactMap { if case .call(let frame) = $0 { frame.callID } else { nil } }
    }

    @Test func framesFedOneByteAtATimeComeOutAsWhole() {
        let bytes = Self.call(1) + Self.call(2, payload: Array(repeating: 7, count: 300)) + Self.frame(3, kind: .ping)
        var machine = Self.machine()
        var actions: [ConnectionStateMachine.Action] = []
        var midFrameBytes = 0
        for byte in bytes {
            machine.received([byte], at: Self.at(0))
            while let action = machine.next() { actions.append(action) }
            if machine.isMidFrame { midFrameBytes += 1 }
        }
        // Mid-frame after every byte but the last of each of the three frames.
        #expect(midFrameBytes == bytes.count - 3)
        #expect(Self.calledIDs(actions) == [1, 2])
        #expect(actions.last == .ping(callID: 3))
        #expect(!machine.isMidFrame)
        #expect(machine.state == .open)
    }

    @Test func framesCoalescedInOneReadComeOutInOrder() {
        var machine = Self.machine()
        let bytes = Self.call(5) + Self.frame(5, kind: .cancel) + Self.call(6, "/diplan.v1.Holds/Hold")
        let actions = Self.actions(bytes, cutAt: [], machine: &machine)
        #expect(actions.count == 3)
        #expect(Self.calledIDs(actions) == [5, 6])
        #expect(actions[1] == .cancel(callID: 5))
        if case .call(let frame) = actions[2] { #expect(frame.method == "/diplan.v1.Holds/Hold") }
    }

    /// Any cut of the same bytes gives the same actions: the loop may read them in whatever pieces the socket gives.
    @Test(arguments: [1, 2, 3, 4, 5])
    func everyCutOfTheSameBytesGivesTheSameActions(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var bytes: [UInt8] = []
        for id in 1...40 {
            switch random.next() % 4 {
            case 0: bytes += Self.frame(UInt64(id), kind: .ping)
            case 1: bytes += Self.frame(UInt64(id), kind: .cancel)
            default:
                bytes += Self.call(
                    UInt64(id), "/m/\(random.next() % 3)", payload: (0..<Int(random.next() % 200)).map { UInt8($0 & 0xff) })
            }
        }
        var whole = Self.machine()
        let expected = Self.actions(bytes, cutAt: [], machine: &whole)
        #expect(expected.count == 40)
        for _ in 0..<50 {
            let cuts = (0..<Int(random.next() % 30)).map { _ in Int(random.next() % UInt64(bytes.count)) }
            var machine = Self.machine()
            #expect(Self.actions(bytes, cutAt: cuts, machine: &machine) == expected, "cut at \(cuts.sorted())")
        }
    }

    @Test func aFrameOverTheLimitClosesWithResourceExhaustedAndReadsNoMore() {
        var machine = Self.machine(maximumFrameLength: 64)
        var closed: Bool
        let actions = Self.actions(
            Self.call(1, payload: Array(repeating: 1, count: 100)) + Self.call(2), cutAt: [3], machine: &machine)
        guard case .closeWithError(let error)? = actions.first else {
            Issue.record("expected closeWithError, got \(actions)")
            return
        }
        #expect(error.code == .resourceExhausted)
        #expect(actions.count == 1, "nothing after the frame over the limit is served")
        #expect(!machine.isReading)
        machine.received(Self.call(3), at: Self.at(10))
        #expect(machine.next() == nil)
        // Once its error frame has left, the connection closes.
        closed = machine.settle(.init(waitingSince: Self.at(0)))
        #expect(!closed)
        closed = machine.settle(.init())
        #expect(closed)
        #expect(machine.state == .closed(.finished))
    }

    @Test func aFrameThatIsNotARequestFrameIsRefusedOnCallIDZeroAndTheConnectionGoesOn() {
        var machine = Self.machine()
        // Field 1's varint cut short: not a RequestFrame.
        let actions = Self.actions(FrameEncoder.frame([0x08, 0xFF]) + Self.call(2), cutAt: [], machine: &machine)
        guard case .reject(0, let error)? = actions.first else {
            Issue.record("expected a refusal on call id 0, got \(actions)")
            return
        }
        #expect(error.code == .internal)
        #expect(Self.calledIDs(actions) == [2])
        #expect(machine.state == .open)
    }

    @Test func aCallWithNoMethodIsRefusedUnderItsOwnID() {
        var machine = Self.machine()
        let actions = Self.actions(Self.call(9, ""), cutAt: [], machine: &machine)
        guard case .reject(9, let error)? = actions.first else {
            Issue.record("expected a refusal on call id 9, got \(actions)")
            return
        }
        #expect(error.code == .invalidArgument)
    }

    @Test func aClientStoppedMidFrameIsClosedAfterTheReadTimeoutNotBefore() {
        var machine = Self.machine()
        var closed: Bool
        let bytes = Self.call(1)
        machine.received(Array(bytes.prefix(7)), at: Self.at(100))
        #expect(machine.next() == nil)
        #expect(machine.isMidFrame)
        closed = machine.tick(now: Self.at(599), owed: .init())
        #expect(!closed)
        closed = machine.tick(now: Self.at(600), owed: .init())
        #expect(closed)
        #expect(machine.state == .closed(.stoppedMidFrame(milliseconds: 500)))
    }

    @Test func theRestOfAFrameWithinTheReadTimeoutKeepsTheConnection() {
        var machine = Self.machine()
        var closed: Bool
        let bytes = Self.call(1)
        machine.received(Array(bytes.prefix(7)), at: Self.at(0))
        closed = machine.tick(now: Self.at(400), owed: .init())
        #expect(!closed)
        machine.received(Array(bytes.dropFirst(7)), at: Self.at(450))
        #expect(Self.calledIDs([machine.next()].compactMap { $0 }) == [1])
        // Between frames, the idle timeout applies (2 s from the last byte), not the read timeout.
        closed = machine.tick(now: Self.at(1_500), owed: .init())
        #expect(!closed)
        closed = machine.tick(now: Self.at(2_449), owed: .init())
        #expect(!closed)
        closed = machine.tick(now: Self.at(2_450), owed: .init())
        #expect(closed)
        #expect(machine.state == .closed(.idle(milliseconds: 2_000)))
    }

    @Test func anIdleConnectionWithAStreamOrHeldAnswersIsKept() {
        var machine = Self.machine()
        var closed: Bool
        closed = machine.tick(now: Self.at(5_000), owed: .init(streams: 1))
        #expect(!closed)
        closed = machine.tick(now: Self.at(5_000), owed: .init(heldAnswers: 2))
        #expect(!closed)
        closed = machine.tick(now: Self.at(5_000), owed: .init())
        #expect(closed)
    }

    @Test func noIdleTimeoutMeansNeverIdle() {
        var machine = ConnectionStateMachine(
            maximumFrameLength: 4_096, timeouts: .init(read: 500, idle: 0, write: 1_000), now: Self.start)
        let closed = machine.tick(now: Self.at(86_400_000), owed: .init())
        #expect(!closed)
        #expect(machine.state == .open)
    }

    @Test func aClientThatTakesNoAnswersIsClosedAfterTheWriteTimeoutEvenWhileDraining() {
        var machine = Self.machine()
        var closed: Bool
        machine.received(Self.call(1), at: Self.at(0))
        _ = machine.next()
        closed = machine.tick(now: Self.at(999), owed: .init(waitingSince: Self.at(0)))
        #expect(!closed)
        machine.inputEnded(owed: .init(waitingSince: Self.at(0)))
        #expect(machine.state == .draining)
        closed = machine.tick(now: Self.at(1_000), owed: .init(waitingSince: Self.at(0)))
        #expect(closed)
        #expect(machine.state == .closed(.tookNoAnswers(milliseconds: 1_000)))
    }

    /// A client may send its calls, close its side and read: it is owed its answers, and only then closed.
    @Test func aClientThatClosesItsSideGetsWhatItIsOwedFirst() {
        var machine = Self.machine()
        var closed: Bool
        machine.received(Self.call(1) + Self.call(2), at: Self.at(0))
        #expect(Self.calledIDs([machine.next(), machine.next()].compactMap { $0 }) == [1, 2])
        machine.inputEnded(owed: .init(heldAnswers: 2))
        #expect(machine.state == .draining)
        #expect(!machine.isReading)
        // Bytes after the end are not read, and the idle timeout does not apply while answers are owed.
        machine.received(Self.call(3), at: Self.at(1))
        #expect(machine.next() == nil)
        closed = machine.tick(now: Self.at(10_000), owed: .init(heldAnswers: 1))
        #expect(!closed)
        closed = machine.settle(.init(heldAnswers: 0, waitingSince: Self.at(9_500)))
        #expect(!closed)
        closed = machine.settle(.init())
        #expect(closed)
        #expect(machine.state == .closed(.finished))
    }

    @Test func aClientThatLeftOwingNothingIsClosedAtOnce() {
        var machine = Self.machine()
        machine.inputEnded(owed: .init())
        #expect(machine.state == .closed(.finished))
    }

    @Test func aFailedSocketClosesWhateverIsOwed() {
        var machine = Self.machine()
        var closed: Bool
        machine.failed()
        #expect(machine.state == .closed(.failed))
        closed = machine.settle(.init(heldAnswers: 3))
        #expect(closed)
    }

    @Test func aProtocolErrorStopsReading() {
        var machine = Self.machine()
        machine.received(Self.call(1) + Self.call(1), at: Self.at(0))
        _ = machine.next()
        machine.protocolError()
        #expect(machine.next() == nil)
        #expect(machine.state == .draining)
    }

    /// Random bytes never crash it, and once it refuses the stream it reads nothing more.
    @Test func anyBytesAreTakenAndAfterAClosingErrorNothingMoreIsRead() {
        var random = SplitMix64(seed: 7)
        var closed = 0
        for _ in 0..<2_000 {
            var machine = Self.machine()
            var refused = false
            for _ in 0..<20 {
                var bytes = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                if random.next() % 3 == 0 && !bytes.isEmpty { bytes[0] = 0 }
                machine.received(bytes, at: Self.at(0))
                while let action = machine.next() {
                    #expect(!refused, "an action after the stream was refused: \(action)")
                    if case .closeWithError = action {
                        refused = true
                        closed += 1
                    }
                }
            }
            #expect(machine.isReading == !refused)
        }
        // Most random headers claim more than 4 KiB or set a flag: the refusal is exercised, not skipped.
        #expect(closed > 1_000)
    }
}
