import Foundation

/// A multipart/form-data body (RFC 7578) split into its parts: what the service's batch route
/// needs (each part's name, file name and byte range). Part headers are bounded; bodies are
/// not copied. Here rather than in HashServer so that the fuzzer reaches it without the server.
public enum MultipartForm {
    public struct Part: Equatable, Sendable {
        public var name: String?
        public var filename: String?
        /// Where the part's content lies in the body given to `parse`.
        public var content: Range<Int>
    }

    public static let maxHeaderBytes = 8 << 10

    /// The boundary parameter of a `multipart/form-data` content type.
    public static func boundary(contentType: String?) throws(MultipartError) -> String {
        guard let contentType else { throw .notMultipart("no Content-Type header") }
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let mediaType = pieces.first, mediaType.lowercased() == "multipart/form-data" else {
            throw .notMultipart("Content-Type is '\(contentType.prefix(100))', not multipart/form-data")
        }
        for parameter in pieces.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            guard (1...70).contains(value.utf8.count) else {
                throw .malformed("the boundary must be 1 to 70 characters")
            }
            return value
        }
        throw .notMultipart("Content-Type has no boundary parameter")
    }

    /// The parts of `body`, at most `maxParts` of them.
    public static func parse(_ body: [UInt8], boundary: String, maxParts: Int) throws(MultipartError) -> [Part] {
        let delimiter = Array("--\(boundary)".utf8)
        // The first delimiter may follow a preamble; later ones always follow CRLF.
        guard var position = find(delimiter, in: body, from: 0) else {
            throw .malformed("the body does not contain the boundary")
        }
        position += delimiter.count
        let boundaryLine = [UInt8(ascii: "\r"), UInt8(ascii: "\n")] + delimiter
        var parts: [Part] = []
        while true {
            if starts(body, with: [UInt8(ascii: "-"), UInt8(ascii: "-")], at: position) {
                return parts
            }
            position = skipTransportPadding(body, from: position)
            guard starts(body, with: crlf, at: position) else {
                throw .malformed("a boundary is not followed by a line break")
            }
            position += 2
            guard parts.count < maxParts else { throw .tooManyParts(limit: maxParts) }
            if starts(body, with: crlf, at: position) {
                throw .malformed("part \(parts.count + 1) has no Content-Disposition header")
            }
            guard let headerEnd = find(crlf + crlf, in: body, from: position, limit: maxHeaderBytes) else {
                throw .malformed("the headers of part \(parts.count + 1) do not end within \(maxHeaderBytes) bytes")
            }
            var part = try parseHeaders(body[position..<headerEnd], index: parts.count + 1)
            let contentStart = headerEnd + 4
            guard let contentEnd = find(boundaryLine, in: body, from: contentStart) else {
                throw .malformed("part \(parts.count + 1) is not closed by the boundary (truncated body?)")
            }
            part.content = contentStart..<contentEnd
            parts.append(part)
            position = contentEnd + boundaryLine.count
        }
    }

    private static let crlf: [UInt8] = [UInt8(ascii: "\r"), UInt8(ascii: "\n")]

    private static func parseHeaders(_ bytes: ArraySlice<UInt8>, index: Int) throws(MultipartError) -> Part {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .malformed("the headers of part \(index) are not UTF-8")
        }
        var part = Part(name: nil, filename: nil, content: 0..<0)
        var sawDisposition = false
        for line in text.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else {
                throw .malformed("part \(index) has a header line without a colon")
            }
            guard line[..<colon].trimmingCharacters(in: .whitespaces).lowercased() == "content-disposition" else { continue }
            sawDisposition = true
            for parameter in line[line.index(after: colon)...].split(separator: ";").dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                var value = pair[1].trimmingCharacters(in: .whitespaces)
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                    value = String(value.dropFirst().dropLast())
                }
                switch pair[0].trimmingCharacters(in: .whitespaces).lowercased() {
                case "name": part.name = value
                case "filename": part.filename = value
                default: break
                }
            }
        }
        guard sawDisposition else { throw .malformed("part \(index) has no Content-Disposition header") }
        return part
    }

    /// RFC 2046 allows spaces and tabs between a boundary and its line break.
    private static func skipTransportPadding(_ body: [UInt8], from start: Int) -> Int {
        var position = start
        while position < body.count, body[position] == UInt8(ascii: " ") || body[position] == UInt8(ascii: "\t") {
            position += 1
        }
        return position
    }

    private static func starts(_ body: [UInt8], with prefix: [UInt8], at position: Int) -> Bool {
        guard position >= 0, body.count - position >= prefix.count else { return false }
        for offset in 0..<prefix.count where body[position + offset] != prefix[offset] {
            return false
        }
        return true
    }

    /// First index of `needle` in `body` at or after `start`, looking no further than `limit` bytes.
    private static func find(_ needle: [UInt8], in body: [UInt8], from start: Int, limit: Int = .max) -> Int? {
        guard let first = needle.first, start >= 0 else { return nil }
        let lastStart = min(body.count - needle.count, start > Int.max - limit ? Int.max : start + limit)
        guard start <= lastStart else { return nil }
        var position = start
        while position <= lastStart {
            if body[position] == first && starts(body, with: needle, at: position) {
                return position
            }
            position += 1
        }
        return nil
    }
}

public enum MultipartError: Error, Equatable, Sendable, CustomStringConvertible {
    case notMultipart(String)
    case malformed(String)
    case tooManyParts(limit: Int)

    public var description: String {
        switch self {
        case .notMultipart(let detail): "not a multipart/form-data request: \(detail)"
        case .malformed(let detail): "malformed multipart body: \(detail)"
        case .tooManyParts(let limit): "more than \(limit) parts in one batch"
        }
    }
}
