import ArgumentParser
import DIPlanClient
import DIPlanCore
import DIPlanStorage
import DIPlanWire
import Foundation

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Snapshots, backups, compaction, figures, and offline checks.",
        subcommands: [
            Snapshot.self, Backup.self, Compact.self, Stats.self, Metrics.self, UpgradeDataset.self, Verify.self,
        ])

    struct Snapshot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a snapshot of the state now, and drop the log it makes unneeded.",
            discussion: "Example:\n  diplanctl admin snapshot")

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                let (response, _) = try await client.call(
                    Method.Admin.snapshot, Diplan_V1_SnapshotRequest(), as: Diplan_V1_SnapshotResponse.self)
                if connection.output == .json { return emitJSON(response) }
                emit("snapshot of revision \(response.revision) written to \(response.path) (\(response.bytes) bytes)\n")
            }
        }
    }

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a consistent backup of the running daemon's state to a new file.",
            discussion: """
                The daemon writes the file, so the path is the daemon's to write. Restore with
                diplan-server --restore FILE on an empty state directory.

                Example:
                  diplanctl admin backup /var/backups/diplan-$(date +%F).snap
                """)

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "An absolute path that does not exist yet.") var path: String

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_BackupRequest()
                request.path = path
                let (response, _) = try await client.call(Method.Admin.backup, request, as: Diplan_V1_BackupResponse.self)
                if connection.output == .json { return emitJSON(response) }
                emit("backup of revision \(response.revision) written to \(response.path) (\(response.bytes) bytes)\n")
            }
        }
    }

    struct Compact: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop the change history before a revision.",
            discussion: "Example:\n  diplanctl admin compact 1200")

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Keep history from this revision on.") var revision: UInt64

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                var request = Diplan_V1_CompactRequest()
                request.revision = revision
                let (response, _) = try await client.call(Method.Admin.compact, request, as: Diplan_V1_CompactResponse.self)
                if connection.output == .json { return emitJSON(response) }
                emit("history kept from revision \(response.oldestRevision)\n")
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The daemon's figures: revision, connections, calls and latency per method, log size, fsync latency.",
            discussion: "Example:\n  diplanctl admin stats -o json")

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                let (response, _) = try await client.call(
                    Method.Admin.stats, Diplan_V1_StatsRequest(), as: Diplan_V1_StatsResponse.self)
                if connection.output == .json { return emitJSON(response) }
                var summary = Table("FIGURE", "VALUE", numeric: [1])
                summary.add("revision", "\(response.revision)")
                summary.add("durable revision", "\(response.durableRevision)")
                summary.add("capacity lines", "\(response.capacityLines)")
                summary.add("connections", "\(response.connections)")
                summary.add("connections since start", "\(response.connectionsTotal)")
                summary.add("uptime s", "\(response.uptimeSeconds)")
                summary.add("log bytes", "\(response.walBytes)")
                summary.add("log write path", response.walWritePath)
                summary.add("torn tails cut at start", "\(response.tornTailsCut)")
                summary.add("fsyncs", "\(response.fsyncLatency.count)")
                summary.add(
                    "mean fsync µs",
                    response.fsyncLatency.count == 0 ? "-" : "\(response.fsyncLatency.sumUs / response.fsyncLatency.count)")
                var methods = Table("METHOD", "CALLS", "ERRORS", "MEAN µs", numeric: [1, 2, 3])
                for method in response.methods {
                    methods.add(
                        method.method, "\(method.calls)", "\(method.errors)",
                        method.calls == 0 ? "-" : "\(method.latency.sumUs / method.calls)")
                }
                emit(summary.render(connection) + "\n" + methods.render(connection))
            }
        }
    }

    struct Metrics: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The daemon's figures in Prometheus' text format, for a textfile collector or a scrape proxy.",
            discussion: """
                With --textfile the figures go to FILE as node_exporter's textfile collector
                reads it: written beside it and renamed over it, so a scrape never sees half
                a file. When the daemon cannot be asked, FILE says diplan_up 0 (and the exit
                code says why), so an alert fires instead of old figures being served.
                diplan-metrics.timer runs this every 15 seconds.

                Examples:
                  diplanctl admin metrics
                  diplanctl admin metrics --textfile /run/diplan-metrics/diplan.prom
                """)

        @OptionGroup var connection: ConnectionOptions
        @Option(
            name: .customLong("textfile"),
            help: ArgumentHelp("Write the figures to FILE, atomically, instead of standard output.", valueName: "file"))
        var textfile: String?

        func run() async throws {
            let figures: String
            var failure: (any Error)?
            do {
                figures = try await calling { () throws(RPCError) in
                    let client = try connection.connect()
                    let (stats, _) = try await client.call(
                        Method.Admin.stats, Diplan_V1_StatsRequest(), as: Diplan_V1_StatsResponse.self)
                    return Self.prometheus(stats)
                }
            } catch {
                guard textfile != nil else { throw error }
                figures = Self.up(false)
                failure = error
            }
            if let textfile {
                try Self.replace(textfile, with: figures)
            } else {
                emit(figures)
            }
            if let failure { throw failure }
        }

        static func up(_ up: Bool) -> String {
            "# HELP diplan_up Whether the daemon answered the last scrape.\n# TYPE diplan_up gauge\ndiplan_up \(up ? 1 : 0)\n"
        }

        /// Writes `path` as a new file beside it and renames it over the old
        /// one: a reader sees the old figures or the new, never a mix. The
        /// temporary name does not end in .prom, which the collector skips.
        /// Mode 0644 whatever the umask: the collector runs as another user.
        static func replace(_ path: String, with text: String) throws {
            let files = PosixFileSystem()
            let temporary = path + ".\(getpid()).tmp"
            do throws(StorageError) {
                let fd = try files.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
                let written = Array(text.utf8).withUnsafeBytes { raw -> StorageError? in
                    do throws(StorageError) { try files.write(fd, raw, at: 0, path: temporary) } catch { return error }
                    return fchmod(fd, 0o644) == 0 ? nil : .io(operation: "chmod", path: temporary, errno: errno)
                }
                let closed = Glibc.close(fd) == 0 ? nil : StorageError.io(operation: "close", path: temporary, errno: errno)
                if let failure = written ?? closed { throw failure }
                try files.rename(temporary, to: path)
            } catch {
                try? files.remove(temporary)
                throw ValidationError("cannot write \(path): \(error)")
            }
        }

        static func prometheus(_ stats: Diplan_V1_StatsResponse) -> String {
            var lines: [String] = [up(true).trimmingCharacters(in: .newlines)]
            func gauge(_ name: String, _ help: String, _ value: UInt64, type: String = "gauge") {
                lines += ["# HELP \(name) \(help)", "# TYPE \(name) \(type)", "\(name) \(value)"]
            }
            gauge("diplan_revision", "The state revision.", stats.revision)
            gauge("diplan_durable_revision", "The last revision made durable.", stats.durableRevision)
            gauge("diplan_oldest_revision", "The oldest revision a watcher may start from.", stats.oldestRevision)
            gauge("diplan_capacity_lines", "Capacity lines held.", stats.capacityLines)
            gauge("diplan_connections", "Open connections.", UInt64(stats.connections))
            gauge("diplan_connections_total", "Connections accepted since start.", stats.connectionsTotal, type: "counter")
            gauge("diplan_uptime_seconds", "Seconds since start.", UInt64(max(0, stats.uptimeSeconds)))
            gauge("diplan_wal_bytes", "Bytes of write-ahead log on disk.", stats.walBytes)
            lines += [
                "# HELP diplan_wal_write_path How the log's records reach the disk (1 for the path in use).",
                "# TYPE diplan_wal_write_path gauge",
            ]
            for path in ["direct", "page-cache"] {
                lines.append("diplan_wal_write_path{path=\"\(path)\"} \(stats.walWritePath == path ? 1 : 0)")
            }
            gauge(
                "diplan_torn_tails_cut", "Torn tails the last start cut off the log (never acknowledged).",
                UInt64(stats.tornTailsCut))
            gauge("diplan_active_holds", "Holds whose lease runs.", UInt64(stats.activeHolds))
            gauge("diplan_watchers", "Open watch streams.", UInt64(stats.watchers))
            func histogram(_ name: String, _ help: String, _ value: Diplan_V1_Histogram, labels: String) {
                var cumulative: UInt64 = 0
                for (index, count) in value.counts.enumerated() {
                    cumulative += count
                    let bound = index < value.boundsUs.count ? String(Double(value.boundsUs[index]) / 1_000_000) : "+Inf"
                    lines.append("\(name)_bucket{\(labels)\(labels.isEmpty ? "" : ",")le=\"\(bound)\"} \(cumulative)")
                }
                lines.append("\(name)_sum{\(labels)} \(Double(value.sumUs) / 1_000_000)")
                lines.append("\(name)_count{\(labels)} \(value.count)")
            }
            lines += [
                "# HELP diplan_fsync_seconds fdatasync latency of the write-ahead log.", "# TYPE diplan_fsync_seconds histogram",
            ]
            histogram("diplan_fsync_seconds", "", stats.fsyncLatency, labels: "")
            lines += [
                "# HELP diplan_calls_total Calls per method.", "# TYPE diplan_calls_total counter",
            ]
            for method in stats.methods { lines.append("diplan_calls_total{method=\"\(method.method)\"} \(method.calls)") }
            lines += [
                "# HELP diplan_call_errors_total Calls per method that did not end OK.",
                "# TYPE diplan_call_errors_total counter",
            ]
            for method in stats.methods { lines.append("diplan_call_errors_total{method=\"\(method.method)\"} \(method.errors)") }
            lines += ["# HELP diplan_call_seconds Call latency per method.", "# TYPE diplan_call_seconds histogram"]
            for method in stats.methods {
                histogram("diplan_call_seconds", "", method.latency, labels: "method=\"\(method.method)\"")
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }

    struct UpgradeDataset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "upgrade-dataset",
            abstract: "Add what this release's embedded dataset has that the daemon's state lacks.",
            discussion: """
                A state started from an older release keeps its own figures and
                lacks what later releases added (the municipalities of 2021 and
                their history, the Rīga, Vidzeme and Zemgale plans, sourced facts
                and projects). This adds those, and nothing else: no line of a
                plan the state holds is touched, no entity it holds is replaced;
                a municipality without a history gets its dates and successors
                (and centre) only. A closed plan gets nothing (reopen it first).
                Two changes: one for what is added to what the state holds, one
                importing the new plans; each refused if the state changed
                meanwhile. Running it again adds nothing.

                Examples:
                  diplanctl admin upgrade-dataset --dry-run
                  diplanctl admin upgrade-dataset
                """)

        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Say what would be added, and change nothing.") var dryRun = false

        func run() async throws {
            try await calling { () throws(RPCError) in
                let client = try connection.connect()
                let (exported, revision) = try await client.call(
                    Method.Plans.export, Diplan_V1_ExportRequest(), as: Diplan_V1_ExportResponse.self)
                let current: Dataset
                let embedded: Dataset
                do {
                    current = try Dataset(proto: exported.dataset)
                    embedded = try Contract.embeddedDataset()
                } catch {
                    throw RPCError(.internal, "the datasets could not be read: \(error)")
                }
                let upgrade = DatasetUpgrade(current: current, embedded: embedded)
                var report = [
                    "\(upgrade.newMunicipalities.count) municipalities", "history for \(upgrade.historyAdded.count)",
                    "\(upgrade.newPlans.count) plans (\(upgrade.targets.count) targets, \(upgrade.lines.count) lines)",
                    "\(upgrade.projects.count) projects", "\(upgrade.facilities.count) facilities",
                    "\(upgrade.facts.count) facts", "\(upgrade.programmes.count) programmes",
                ].joined(separator: ", ")
                if !upgrade.skippedPlans.isEmpty {
                    report += "; left out, being closed: \(upgrade.skippedPlans.joined(separator: ", "))"
                }
                guard !upgrade.isEmpty else { return emit("nothing to add; revision \(revision)\n") }
                if dryRun { return emit("would add \(report)\n") }
                // What is added to what the state holds, then the new plans with everything of theirs (Apply does
                // not take a plan's history; Import does).
                var now = revision
                if !upgrade.additions.isEmpty { now = try await client.apply(upgrade.additions, expectedRevision: now) }
                if !upgrade.newPlans.isEmpty || !upgrade.programmes.isEmpty {
                    now = try await client.importDataset(upgrade.newPlansDataset, expectedRevision: now)
                }
                emit("added \(report); revision \(now)\n")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a state directory offline, as redis-check-aof does; changes nothing.",
            discussion: """
                Exit 0 when a start would recover it, by the rule a start applies
                (docs/durability.md): a torn tail, which a start cuts off, is reported with why
                it was judged torn. Exit 2 when it is damaged as no crash or power cut leaves a
                log, with the file and byte where.

                Example:
                  diplanctl admin verify --state-dir /var/lib/diplan
                """)

        @Option(name: .customLong("state-dir"), help: "The state directory.") var stateDirectory: String

        func run() throws {
            do {
                let report = try StateDirectory.verify(path: stateDirectory)
                var table = Table("CHECK", "RESULT")
                table.add("snapshot", report.snapshotRevision.map { "revision \($0)" } ?? "none")
                for damaged in report.damagedSnapshots { table.add("damaged snapshot (passed over)", damaged) }
                table.add("log segments", "\(report.segments)")
                table.add("log revisions", report.firstRevision.map { "\($0)–\(report.lastRevision)" } ?? "none")
                table.add("torn tail", report.tornTail ?? "none")
                table.add("recovers to revision", "\(report.lastRevision)")
                emit(table.render(.table))
            } catch {
                FileHandle.standardError.write(Data("diplanctl: \(stateDirectory) is damaged: \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
    }
}
