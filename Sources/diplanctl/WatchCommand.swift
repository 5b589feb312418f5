import ArgumentParser
import DIPlanClient
import DIPlanCore
import DIPlanWire
import Foundation
import SwiftProtobuf

struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print changes as they are made, one line each; -o json prints each message as JSON.",
        discussion: """
            Starts at --from-revision (inclusive; default: only new changes). A watcher
            that falls behind is cancelled with the revision to resume from; diplanctl then
            exits 7.

            Examples:
              diplanctl watch
              diplanctl watch --from-revision 120 --municipality ludza --kind line \\
                  --kind hold
            """)

    @OptionGroup var connection: ConnectionOptions
    @Option(name: .customLong("from-revision"), help: "The first revision to print (0: the next change).") var fromRevision:
        UInt64 = 0
    @Option(help: "Only changes in this region (repeatable).") var region: [Region] = []
    @Option(help: "Only changes in this municipality (repeatable).", completion: Complete.municipalities) var municipality:
        [String] = []
    @Option(help: "Only this kind of change (repeatable): \(ChangeKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kind: [ChangeKind] = []

    func run() async throws {
        try await calling { () throws(RPCError) in
            let client = try connection.connect()
            var request = Diplan_V1_WatchRequest()
            request.fromRevision = fromRevision
            request.regions = region.map(\.proto)
            request.municipalityIds = municipality
            request.kinds = kind.map(\.proto)
            let payload: [UInt8] = (try? request.serializedBytes()) ?? []
            do {
                for try await answer in client.connection.stream(Method.Watch.watch, payload: payload, timeout: nil) {
                    let message = try Diplan_V1_WatchResponse(serializedBytes: answer.payload)
                    if connection.output == .json {
                        emitJSON(message, compact: true)
                        continue
                    }
                    switch message.event {
                    case .started(let started)?:
                        emit(
                            "# watching from revision \(fromRevision == 0 ? started.currentRevision + 1 : fromRevision); current \(started.currentRevision), oldest kept \(started.oldestRevision)\n"
                        )
                    case .change(let change)?:
                        for mutation in change.mutations {
                            emit("revision \(change.revision) uid \(change.uid) \(change.method): \(Self.describe(mutation))\n")
                        }
                    case .progress, nil: break
                    }
                }
            } catch let error as RPCError {
                throw error
            } catch {
                throw RPCError(.internal, "\(error)")
            }
        }
    }

    static func describe(_ mutation: Diplan_V1_Mutation) -> String {
        func known<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "?" }
        switch mutation.entity {
        case .line(let line)?:
            var planned: UInt32?, existing: UInt32?, occupied: UInt32?
            if case .planned(let v)? = line.plannedKnown { planned = v }
            if case .existing(let v)? = line.existingKnown { existing = v }
            if case .occupied(let v)? = line.occupiedKnown { occupied = v }
            return
                "line \(line.planID)/\(line.municipalityID)/\(ServiceType(proto: line.serviceType)?.rawValue ?? "?")/\(TargetGroup(proto: line.targetGroup)?.rawValue ?? "?") planned=\(known(planned)) existing=\(known(existing)) occupied=\(known(occupied)) held=\(line.held)"
        case .deletedLine(let key)?:
            return
                "line deleted \(key.planID)/\(key.municipalityID)/\(ServiceType(proto: key.serviceType)?.rawValue ?? "?")/\(TargetGroup(proto: key.targetGroup)?.rawValue ?? "?")"
        case .municipality(let value)?: return "municipality \(value.id) \(value.name)"
        case .plan(let value)?:
            return "plan \(value.id) \(PlanStatus(proto: value.status)?.rawValue ?? "?") amendment \(value.amendmentNumber)"
        case .planEvent(let value)?:
            return
                "plan event \(value.planID) #\(value.sequence) \(PlanStatus(proto: value.status)?.rawValue ?? "?") \(value.date.isEmpty ? "" : value.date)"
        case .target(let value)?:
            return
                "target \(value.planID)/\(ServiceType(proto: value.serviceType)?.rawValue ?? "?")/\(TargetGroup(proto: value.targetGroup)?.rawValue ?? "?") \(value.amount)"
        case .facility(let value)?:
            return "facility \(value.id) \(value.maxPlaces) places \(Facility.Status(proto: value.status)?.rawValue ?? "?")"
        case .project(let value)?: return "project \(value.id) \(Project.Status(proto: value.status)?.rawValue ?? "?")"
        case .hold(let value)?:
            return
                "hold \(value.id) \(Hold.Status(proto: value.status)?.rawValue ?? "?") \(value.places) places on \(value.lineKey.municipalityID)"
        case .fact(let value)?:
            return "fact \(value.planID)/\(value.id) \(PlanFact.Kind(proto: value.kind)?.rawValue ?? "?") \(value.amount)"
        case .deletedFact(let key)?: return "fact deleted \(key.planID)/\(key.id)"
        case .programme(let value)?: return "programme \(value.id) counts \(value.countedLines.count) lines"
        case nil: return "?"
        }
    }
}

extension ChangeKind: ExpressibleByArgument {}
