/// The running totals of one plan's lines in one municipality, kept apart
/// by unit: sums never add places to clients served.
struct MunicipalTotals {
    var places = CapacityTotals()
    var clientsServed = CapacityTotals()

    subscript(unit: CapacityUnit) -> CapacityTotals {
        switch unit {
        case .places: places
        case .clientsServed: clientsServed
        }
    }

    mutating func add(_ line: CapacityLine, sign: Int = 1) {
        switch line.key.serviceType.unit {
        case .places: places.add(line, sign: Int64(sign))
        case .clientsServed: clientsServed.add(line, sign: Int64(sign))
        }
    }

    mutating func replace(_ old: CapacityLine, with new: CapacityLine) {
        add(old, sign: -1)
        add(new)
    }
}
