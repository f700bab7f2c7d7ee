import Foundation

/// Writes one JSON value with members in the order they are written (JSONEncoder on Linux
/// cannot promise an order, and record formats here are documented field by field).
public struct JSONWriter {
    public private(set) var output: String = ""
    /// One entry per open object or array: whether it already has a member.
    private var hasMembers: [Bool] = []

    public init() {
        output.reserveCapacity(512)
    }

    public mutating func beginObject() {
        separate()
        output.append("{")
        hasMembers.append(false)
    }

    public mutating func endObject() {
        hasMembers.removeLast()
        output.append("}")
    }

    public mutating func beginArray() {
        separate()
        output.append("[")
        hasMembers.append(false)
    }

    public mutating func endArray() {
        hasMembers.removeLast()
        output.append("]")
    }

    /// The key of the next member of the open object.
    public mutating func key(_ name: String) {
        separate()
        appendQuoted(name)
        output.append(":")
        valueFollowsKey = true
    }

    /// Set between a key and its value, which must not be separated from it.
    private var valueFollowsKey = false

    public mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
    }

    public mutating func int(_ value: Int) {
        separate()
        output.append(String(value))
    }

    public mutating func double(_ value: Double) {
        separate()
        output.append(value.isFinite ? String(value) : "null")
    }

    public mutating func bool(_ value: Bool) {
        separate()
        output.append(value ? "true" : "false")
    }

    public mutating func null() {
        separate()
        output.append("null")
    }

    public mutating func member(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    public mutating func member(_ name: String, _ value: Int) {
        key(name)
        int(value)
    }

    /// A number written as given (a decimal already formatted to its places, "1.033").
    public mutating func member(_ name: String, decimal text: String) {
        key(name)
        decimal(text)
    }

    public mutating func decimal(_ text: String) {
        precondition(text.utf8.allSatisfy { (48...57).contains($0) || $0 == 46 || $0 == 45 }, "not a decimal: \(text)")
        separate()
        output.append(text)
    }

    public mutating func member(_ name: String, _ value: Bool) {
        key(name)
        bool(value)
    }

    /// A member whose value is JSON object text from elsewhere (a database's stored manifest):
    /// written as it is only when it parses as exactly one JSON object, so that it can neither
    /// close the enclosing object nor add members beside it; any other text is written as a
    /// JSON string, escaped like every other string.
    public mutating func member(_ name: String, jsonObjectText text: String) {
        guard Self.isOneJSONObject(text) else {
            member(name, text)
            return
        }
        key(name)
        separate()
        output.append(text)
    }

    /// Foundation's parser is strict (no comments, no trailing text, no bare control
    /// characters in strings): what it takes as one object is one object to any JSON reader.
    static func isOneJSONObject(_ text: String) -> Bool {
        guard text.utf8.first(where: { !Self.isJSONSpace($0) }) == UInt8(ascii: "{") else { return false }
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) is [String: Any]
    }

    private static func isJSONSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    public mutating func member(_ name: String, strings values: [String]) {
        key(name)
        beginArray()
        for value in values {
            string(value)
        }
        endArray()
    }

    private mutating func separate() {
        if valueFollowsKey {
            valueFollowsKey = false
            return
        }
        guard let last = hasMembers.last else { return }
        if last {
            output.append(",")
        } else {
            hasMembers[hasMembers.count - 1] = true
        }
    }

    private mutating func appendQuoted(_ text: String) {
        output.append("\"")
        var needsEscaping = false
        for byte in text.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            needsEscaping = true
            break
        }
        if !needsEscaping {
            output.append(text)
        } else {
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": output.append("\\\"")
                case "\\": output.append("\\\\")
                case "\n": output.append("\\n")
                case "\r": output.append("\\r")
                case "\t": output.append("\\t")
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    output.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                default:
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output.append("\"")
    }
}
