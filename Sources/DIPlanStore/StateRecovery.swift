import DIPlanCore
import DIPlanStorage
import DIPlanWire
import Logging

/// Opens a state directory and rebuilds the state it holds: the newest valid
/// snapshot, then every logged change after it. A torn tail is cut
/// off and logged; any other damage stops the start.
package enum StateRecovery {
    package enum Failure: Error, CustomStringConvertible {
        case storage(StorageError)
        case record(revision: UInt64, reason: String)
        case notEmpty(String)
        case other(String)

        package var description: String {
            switch self {
            case .storage(let error): "\(error)"
            case .record(let revision, let reason): "the log record of revision \(revision) cannot be replayed: \(reason)"
            case .notEmpty(let path): "\(path) already holds a state; --restore starts only an empty state directory"
            case .other(let message): message
            }
        }
    }

    /// The store of the state in `path`, handing its changes to `feed`; with `restore`, seeded first from that backup.
    package static func open(
        path: String, options: StateStore.Options, feed: (any ChangeFeed)? = nil, clock: any WallClock = SystemClock(),
        restore: String? = nil, segmentSize: UInt64 = 64 * 1024 * 1024, logger: Logger
    ) throws(Failure) -> StateStore {
        do {
            let directory = try StateDirectory(path: path)
            if let restore {
                guard try directory.isEmpty else { throw Failure.notEmpty(path) }
                let backup = try SnapshotStore.read(restore)
                try directory.snapshots.save(revision: backup.revision, payload: backup.payload)
                logger.notice("restored from a backup", metadata: ["file": "\(restore)", "revision": "\(backup.revision)"])
            }
            let started = ContinuousClock.now
            // Every write is synced at once under `always`: records go to the disk directly.
            let (recovery, log) = try directory.recover(segmentSize: segmentSize, directWrites: options.fsync == .always)
            if let cut = recovery.cutTail, cut.offset == 0 && cut.bytes == 0 {
                logger.warning(
                    "removed a log segment created but never written (a crash as it was being started)",
                    metadata: ["segment": "\(cut.path)"])
            } else if let cut = recovery.cutTail {
                logger.warning(
                    "cut a torn tail off the log: a write a crash or power cut left unfinished, never acknowledged",
                    metadata: [
                        "segment": "\(cut.path)", "offset": "\(cut.offset)", "bytes": "\(cut.bytes)",
                        "because": "\(recovery.tornBecause ?? "a record cut short")",
                    ])
            }
            for damaged in recovery.damagedSnapshots {
                logger.warning("passed over a damaged snapshot", metadata: ["path": "\(damaged)"])
            }
            var state = PlanState()
            if let snapshot = recovery.snapshot {
                do { state = try PlanState(snapshotBytes: snapshot.payload) } catch {
                    throw Failure.other("snapshot \(snapshot.path) passed its checksum but does not decode: \(error)")
                }
                guard state.revision == snapshot.revision else {
                    throw Failure.other(
                        "snapshot \(snapshot.path) holds revision \(state.revision), its name says \(snapshot.revision)")
                }
            }
            var history: [Change] = []
            for record in recovery.records {
                let change: Change
                do { change = try Change(recordBytes: record.payload) } catch {
                    throw Failure.record(revision: record.revision, reason: "\(error)")
                }
                guard change.revision == record.revision, change.revision == state.revision + 1 else {
                    throw Failure.record(
                        revision: record.revision, reason: "it holds revision \(change.revision) after \(state.revision)")
                }
                state.commit(change)
                history.append(change)
            }
            let tornTailsCut = recovery.cutTail == nil ? 0 : 1
            logger.info(
                "state recovered",
                metadata: [
                    "revision": "\(state.revision)", "snapshot": "\(recovery.snapshot?.revision ?? 0)",
                    "records": "\(recovery.records.count)", "torn_tails_cut": "\(tornTailsCut)",
                    "lines": "\(state.lineCount)",
                    "ms":
                        "\((ContinuousClock.now - started).components.attoseconds / 1_000_000_000_000_000 + (ContinuousClock.now - started).components.seconds * 1000)",
                ])
            let store = StateStore(
                state, log: log, directory: directory, options: options, feed: feed, history: history, clock: clock,
                tornTailsCut: tornTailsCut, recordsSinceSnapshot: recovery.records.count, logger: logger)
            if state.revision == 0 {
                try loadEmbeddedDataset(into: store, clock: clock, logger: logger)
            }
            // Known once a segment is open: the file system may refuse O_DIRECT.
            logger.info("log ready", metadata: ["wal_write_path": "\(store.logWritePath)", "fsync": "\(options.fsync)"])
            return store
        } catch let error as Failure {
            throw error
        } catch let error as StorageError {
            throw .storage(error)
        } catch {
            throw .other("\(error)")
        }
    }

    /// Loads the embedded dataset as the first change, logged like any other.
    package static func loadEmbeddedDataset(into store: StateStore, clock: any WallClock = SystemClock(), logger: Logger) throws {
        let dataset = try Contract.embeddedDataset()
        do throws(StoreError) {
            try store.write(
                dataset.updates, context: ChangeContext(uid: 0, unixMillis: clock.unixMillis, method: "embedded-dataset")
            )
        } catch {
            throw Failure.other("the embedded dataset could not be loaded: \(error.rpc)")
        }
        logger.info(
            "loaded the embedded dataset",
            metadata: [
                "municipalities": "\(dataset.municipalities.count)", "plans": "\(dataset.plans.count)",
                "lines": "\(dataset.lines.count)",
            ])
    }
}
