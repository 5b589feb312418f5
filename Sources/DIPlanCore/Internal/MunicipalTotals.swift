/// The running totals of one plan's lines in one municipality, with how many
/// of them count each unit.
struct MunicipalTotals {
    var totals = CapacityTotals()
    var placesLines = 0
    var clientsServedLines = 0

    mutating func add(_ line: CapacityLine, sign: Int = 1) {
        totals.add(line, sign: Int64(sign))
        switch line.key.serviceType.unit {
        case .places: placesLines += sign
        case .clientsServed: clientsServedLines += sign
        }
    }

    mutating func replace(_ old: CapacityLine, with new: CapacityLine) {
        add(old, sign: -1)
        add(new)
    }

    /// Counts the units of these lines in `group`.
    func countUnits(in group: inout CapacityGroup) {
        if placesLines > 0 { group.count(unit: .places) }
        if clientsServedLines > 0 { group.count(unit: .clientsServed) }
    }
}
