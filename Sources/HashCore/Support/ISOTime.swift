import Foundation

/// ISO 8601 dates and times, as lists write them.
public enum ISOTime {
    public static func parse<S: StringProtocol>(_ text: S) -> Int64? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { parse(bytes: $0) }
    }

    static func parse(bytes: UnsafeRawBufferPointer) -> Int64? {
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for index in range {
                guard bytes[index] >= 48 && bytes[index] <= 57 else { return nil }
                value = value * 10 + Int(bytes[index] - 48)
            }
            return value
        }
        guard bytes.count >= 10, bytes[4] == 45, bytes[7] == 45,
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        var seconds = Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400
        guard bytes.count > 10 else { return seconds }
        guard bytes.count >= 19, bytes[10] == 84 || bytes[10] == 116 || bytes[10] == 32, bytes[13] == 58, bytes[16] == 58,
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            hour < 24, minute < 60, second < 61
        else { return nil }
        seconds += Int64(hour * 3600 + minute * 60 + second)
        var rest = 19
        if rest < bytes.count && bytes[rest] == 46 {  // fractional seconds: ignored
            rest += 1
            while rest < bytes.count && bytes[rest] >= 48 && bytes[rest] <= 57 { rest += 1 }
        }
        if rest == bytes.count || (rest == bytes.count - 1 && (bytes[rest] == 90 || bytes[rest] == 122)) {
            return seconds
        }
        guard bytes.count - rest == 6, bytes[rest] == 43 || bytes[rest] == 45, bytes[rest + 3] == 58,
            let offsetHours = number((rest + 1)..<(rest + 3)), let offsetMinutes = number((rest + 4)..<(rest + 6))
        else { return nil }
        let offset = Int64(offsetHours * 3600 + offsetMinutes * 60)
        return bytes[rest] == 43 ? seconds - offset : seconds + offset
    }

    /// The times hashdb accepts and prints: years 0000 to 9999.
    public static let range: ClosedRange<Int64> = -62_167_219_200...253_402_300_799

    /// "2024-05-01T12:30:00Z" for seconds since 1970; out of `range` (a damaged file), the
    /// number itself.
    public static func format(_ seconds: Int64) -> String {
        guard range.contains(seconds) else { return String(seconds) }
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = civilFromDays(days)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(yearText)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp + (mp < 10 ? 3 : -9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs, CR and LF.
    func trimmingASCIIWhitespace() -> SubSequence {
        var start = startIndex
        var end = endIndex
        while start < end, let scalar = self[start].asciiValue, scalar == 32 || scalar == 9 || scalar == 13 || scalar == 10 {
            start = index(after: start)
        }
        while end > start, let scalar = self[index(before: end)].asciiValue, scalar == 32 || scalar == 9 || scalar == 13 || scalar == 10 {
            end = index(before: end)
        }
        return self[start..<end]
    }
}
