import ArgumentParser
import DIPlanCore

/// Capacity lines as `diplanctl export -o csv` writes them, read back.
enum LinesCSV {
    /// The header the export writes, which the import requires.
    static let header = [
        "plan", "municipality", "service", "group", "planned", "existing", "occupied", "held", "assessed_need",
        "planned_cost_cents", "updated", "source",
    ]

    /// Each line as a whole (`held` is the holds' and is not read); a cell
    /// left empty is unknown. Errors name the row and the column.
    static func lines(_ text: String) throws -> [CapacityLine] {
        var rows = try records(text)
        guard let first = rows.first, first == header else {
            throw ValidationError("the CSV's first row must be the header export writes: \(header.joined(separator: ","))")
        }
        rows.removeFirst()
        return try rows.enumerated().map { index, row in
            let number = index + 2
            guard row.count == header.count else {
                throw ValidationError("row \(number) has \(row.count) cells, not \(header.count)")
            }
            func cell<T>(_ column: Int, _ parse: (String) -> T?) throws -> T? {
                guard !row[column].isEmpty else { return nil }
                guard let value = parse(row[column]) else {
                    throw ValidationError("row \(number), \(header[column]): \"\(row[column])\" is not valid")
                }
                return value
            }
            guard let service = try cell(2, ServiceType.init(rawValue:)), let group = try cell(3, TargetGroup.init(rawValue:))
            else {
                throw ValidationError("row \(number) has no service or group")
            }
            return CapacityLine(
                key: LineKey(planID: row[0], municipalityID: row[1], serviceType: service, targetGroup: group),
                planned: try cell(4) { UInt32($0) }, existing: try cell(5) { UInt32($0) }, occupied: try cell(6) { UInt32($0) },
                assessedNeed: try cell(8) { UInt32($0) }, plannedCostCents: try cell(9) { Int64($0) },
                updated: try cell(10) { CalendarDate($0) }, source: row[11])
        }
    }

    /// RFC 4180 records: fields separated by commas, quoted when they hold
    /// a comma, a quote or a line break, a quote doubled inside quotes.
    static func records(_ text: String) throws -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var characters = text.makeIterator()
        var pending: Character? = nil
        func next() -> Character? {
            if let p = pending {
                pending = nil
                return p
            }
            return characters.next()
        }
        while let character = next() {
            if quoted {
                if character == "\"" {
                    if let following = next() {
                        if following == "\"" {
                            field.append("\"")
                        } else {
                            quoted = false
                            pending = following
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
            } else {
                switch character {
                case "\"" where field.isEmpty: quoted = true
                case ",":
                    record.append(field)
                    field = ""
                case "\n", "\r\n":
                    record.append(field)
                    field = ""
                    records.append(record)
                    record = []
                default: field.append(character)
                }
            }
        }
        if quoted { throw ValidationError("the CSV ends inside a quoted field") }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        return records
    }
}
