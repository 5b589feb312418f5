import DIPlanCore
import Foundation
import SwiftProtobuf

/// A table printed with aligned columns (numbers to the right), or as CSV.
struct Table {
    var headers: [String]
    var rows: [[String]] = []
    /// Columns whose cells align right.
    var numeric: Set<Int> = []
    /// Lines printed under the table (sources, notes).
    var footnotes: [String] = []

    init(_ headers: String..., numeric: Set<Int> = []) {
        self.headers = headers
        self.numeric = numeric
    }

    mutating func add(_ cells: String...) { rows.append(cells) }
    mutating func add(row cells: [String]) { rows.append(cells) }

    /// The table as the command line asks: its format, with or without the header row.
    func render(_ options: ConnectionOptions) -> String { render(options.output, headers: !options.noHeaders) }

    func render(_ format: OutputFormat, headers showHeaders: Bool = true) -> String {
        let header = showHeaders ? [headers] : []
        switch format {
        case .csv: return (header + rows).map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
        case .table, .json:
            var widths = headers.map(\.count)
            for row in rows {
                for (index, cell) in row.enumerated() where index < widths.count {
                    widths[index] = max(widths[index], cell.count)
                }
            }
            func line(_ cells: [String]) -> String {
                cells.enumerated().map { index, cell in
                    let pad = String(repeating: " ", count: max(0, widths[index] - cell.count))
                    if index == cells.count - 1 && !numeric.contains(index) { return cell }
                    return numeric.contains(index) ? pad + cell : cell + pad
                }.joined(separator: "  ")
            }
            var text = (header.map(line) + rows.map(line)).joined(separator: "\n") + "\n"
            if !footnotes.isEmpty { text += "\n" + footnotes.joined(separator: "\n") + "\n" }
            return text
        }
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// A time as tables print it: ISO 8601, UTC, to the second ("2026-12-09T16:27:15Z").
func isoTime(unixMillis: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date(timeIntervalSince1970: Double(unixMillis) / 1000))
}

/// Prints text to standard output.
func emit(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Prints a message in protobuf's JSON mapping: indented for people, or
/// `compact`, one object per line, for streams a program reads line by line.
func emitJSON(_ message: any Message, compact: Bool = false) {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = false
    let text = (try? message.jsonString(options: options)) ?? "{}"
    emit((compact ? text : prettyJSON(text)) + "\n")
}

/// Re-indents compact JSON for people.
func prettyJSON(_ text: String) -> String {
    guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]),
        let data = try? JSONSerialization.data(
            withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    else { return text }
    return String(decoding: data, as: UTF8.self)
}

extension Quantity {
    /// "12"; "12+?" when some parts are unknown; "?" when none is known; "-" when there is nothing to sum.
    var display: String {
        if known == 0 { return unknown == 0 ? "-" : "?" }
        return unknown > 0 ? "\(value)+?" : "\(value)"
    }
}

extension Optional where Wrapped == UInt32 {
    var display: String { self.map(String.init) ?? "?" }
}

/// Euro from cents: "2630900.00".
func euro(_ cents: Int64) -> String {
    let sign = cents < 0 ? "-" : ""
    let magnitude = cents.magnitude
    let fraction = magnitude % 100
    return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}
