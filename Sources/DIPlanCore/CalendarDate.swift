/// A date as precise as its source: a year, a month, or a day.
///
/// Sources often say "by December 2021" or "in March": the precision is kept,
/// never invented. Dates order by their first day ("2021-12" < "2021-12-31").
public struct CalendarDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int?
    public let day: Int?

    public init?(year: Int, month: Int? = nil, day: Int? = nil) {
        guard (1900...2200).contains(year) else { return nil }
        if let month, !(1...12).contains(month) { return nil }
        if let day {
            guard let month, (1...CalendarDate.days(inMonth: month, year: year)).contains(day) else { return nil }
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses "YYYY", "YYYY-MM" or "YYYY-MM-DD".
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count),
            parts[0].count == 4, parts.dropFirst().allSatisfy({ $0.count == 2 }),
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) })
        else { return nil }
        let numbers = parts.map { Int($0)! }
        self.init(year: numbers[0], month: numbers.count > 1 ? numbers[1] : nil, day: numbers.count > 2 ? numbers[2] : nil)
    }

    /// "YYYY", "YYYY-MM" or "YYYY-MM-DD", written digit by digit (at most ten
    /// ASCII bytes: a string that needs no allocation; answers carry many).
    public var description: String {
        String(unsafeUninitializedCapacity: 10) { buffer in
            var count = 0
            func digits(_ value: Int, _ width: Int) {
                var value = value
                for index in stride(from: count + width - 1, through: count, by: -1) {
                    buffer[index] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                count += width
            }
            digits(year, 4)
            if let month {
                buffer[count] = UInt8(ascii: "-")
                count += 1
                digits(month, 2)
                if let day {
                    buffer[count] = UInt8(ascii: "-")
                    count += 1
                    digits(day, 2)
                }
            }
            return count
        }
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month ?? 0, lhs.day ?? 0) < (rhs.year, rhs.month ?? 0, rhs.day ?? 0)
    }

    /// Whether every day this date may mean comes before every day `other`
    /// may mean: "2018" is not surely before "2018-04-20", "2017-03" is.
    public func isSurelyBefore(_ other: CalendarDate) -> Bool {
        let lastDay = (year, month ?? 12, day ?? CalendarDate.days(inMonth: month ?? 12, year: year))
        return lastDay < (other.year, other.month ?? 1, other.day ?? 1)
    }

    /// The date of a Unix time, in UTC.
    public static func utc(unixSeconds: Int64) -> CalendarDate {
        // Civil-from-days (H. Hinnant), valid for the whole proleptic Gregorian calendar.
        let z = unixSeconds / 86_400 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yoe + era * 400) + (month <= 2 ? 1 : 0)
        return CalendarDate(year: year, month: month, day: day)!
    }

    static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
