/// A small, strict XML reader for the list formats that are XML (NCMEC's hash sharing): start
/// tags with their attributes, text, end tags, in order, with line numbers. It takes the XML
/// those formats use — elements, attributes, the five named entities and character references,
/// comments, CDATA, processing instructions — and refuses a document type declaration (no
/// entity of a list's own making is ever expanded, and nothing outside the file is read).
/// Nesting, names and text are bounded; every error names the line.
struct XMLEvents {
    enum Event {
        case start(name: String, attributes: [String: String], line: Int)
        case text(String)
        case end(name: String)
    }

    struct Malformed: Error {
        let line: Int
        let reason: String
    }

    static let maximumDepth = 64
    static let maximumName = 256
    static let maximumText = 1 << 16

    private let bytes: UnsafeRawBufferPointer
    private var position = 0
    private var line = 1
    private var open: [String] = []

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        // A UTF-8 byte order mark.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    private func malformed(_ reason: String) -> Malformed { Malformed(line: line, reason: reason) }

    private mutating func advance() -> UInt8? {
        guard position < bytes.count else { return nil }
        let byte = bytes[position]
        position += 1
        if byte == 0x0A { line += 1 }
        return byte
    }

    private func peek(_ offset: Int = 0) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    private func starts(with text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard position + utf8.count <= bytes.count else { return false }
        return (0..<utf8.count).allSatisfy { bytes[position + $0] == utf8[$0] }
    }

    /// Skips to just after `terminator`; false when the input ends first.
    private mutating func skip(past terminator: String) -> Bool {
        while position < bytes.count {
            if starts(with: terminator) {
                for _ in 0..<terminator.utf8.count { _ = advance() }
                return true
            }
            _ = advance()
        }
        return false
    }

    /// The next event, nil at the end of a well-formed document.
    mutating func next() throws(Malformed) -> Event? {
        if let end = pendingEnd {
            pendingEnd = nil
            return .end(name: end)
        }
        while position < bytes.count {
            if peek() != UInt8(ascii: "<") {
                let text = try readText(until: UInt8(ascii: "<"))
                if open.isEmpty {
                    guard text.allSatisfy({ $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }) else { throw malformed("text outside the document element") }
                    continue
                }
                return .text(text)
            }
            if starts(with: "<!--") {
                guard skip(past: "-->") else { throw malformed("a comment that does not end") }
            } else if starts(with: "<?") {
                guard skip(past: "?>") else { throw malformed("a processing instruction that does not end") }
            } else if starts(with: "<![CDATA[") {
                for _ in 0..<9 { _ = advance() }
                let start = position
                guard skip(past: "]]>") else { throw malformed("a CDATA section that does not end") }
                guard !open.isEmpty else { throw malformed("CDATA outside the document element") }
                return .text(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<(position - 3)]), as: UTF8.self))
            } else if starts(with: "<!") {
                throw malformed("a document type declaration (not accepted in a list)")
            } else if starts(with: "</") {
                _ = advance(); _ = advance()
                let name = try readName()
                skipSpace()
                guard advance() == UInt8(ascii: ">") else { throw malformed("an end tag </\(name) that does not close") }
                guard let expected = open.popLast(), expected == name else { throw malformed("</\(name)> where </\(open.last ?? "")> was expected") }
                return .end(name: Self.localName(name))
            } else {
                let startLine = line
                _ = advance()
                let name = try readName()
                var attributes: [String: String] = [:]
                while true {
                    skipSpace()
                    guard let byte = peek() else { throw malformed("a start tag <\(name) that does not close") }
                    if byte == UInt8(ascii: ">") {
                        _ = advance()
                        guard open.count < Self.maximumDepth else { throw malformed("elements nested deeper than \(Self.maximumDepth)") }
                        open.append(name)
                        return .start(name: Self.localName(name), attributes: attributes, line: startLine)
                    }
                    if byte == UInt8(ascii: "/") {
                        _ = advance()
                        guard advance() == UInt8(ascii: ">") else { throw malformed("a '/' inside the start tag <\(name)") }
                        // An empty element: its start now, its end next.
                        pendingEnd = Self.localName(name)
                        return .start(name: Self.localName(name), attributes: attributes, line: startLine)
                    }
                    let attribute = try readName()
                    skipSpace()
                    guard advance() == UInt8(ascii: "=") else { throw malformed("attribute \(attribute) without a value") }
                    skipSpace()
                    guard let quote = advance(), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
                        throw malformed("attribute \(attribute)'s value is not quoted")
                    }
                    let value = try readText(until: quote)
                    guard advance() == quote else { throw malformed("attribute \(attribute)'s value does not end") }
                    attributes[Self.localName(attribute)] = value
                }
            }
        }
        guard open.isEmpty else { throw malformed("the document ends inside <\(open.last!)>") }
        return nil
    }

    private var pendingEnd: String?

    /// `ns:name` → `name` (hashdb's XML formats do not mix namespaces).
    static func localName(_ name: String) -> String {
        name.split(separator: ":").last.map(String.init) ?? name
    }

    private mutating func skipSpace() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { _ = advance() }
    }

    private mutating func readName() throws(Malformed) -> String {
        let start = position
        while let byte = peek(), byte != 0x20, byte != 0x09, byte != 0x0A, byte != 0x0D, byte != UInt8(ascii: ">"),
            byte != UInt8(ascii: "/"), byte != UInt8(ascii: "="), byte != UInt8(ascii: "<") {
            _ = advance()
            guard position - start <= Self.maximumName else { throw malformed("a name longer than \(Self.maximumName) bytes") }
        }
        guard position > start else { throw malformed("a tag or attribute without a name") }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    /// Text up to `terminator` (not consumed), with entities and character references decoded.
    private mutating func readText(until terminator: UInt8) throws(Malformed) -> String {
        var text: [UInt8] = []
        while let byte = peek(), byte != terminator {
            if terminator != UInt8(ascii: "<"), byte == UInt8(ascii: "<") { throw malformed("'<' inside an attribute value") }
            _ = advance()
            if byte == UInt8(ascii: "&") {
                var entity: [UInt8] = []
                while let next = advance(), next != UInt8(ascii: ";") {
                    entity.append(next)
                    guard entity.count <= 10 else { throw malformed("an '&' that starts no entity") }
                }
                let name = String(decoding: entity, as: UTF8.self)
                switch name {
                case "amp": text.append(UInt8(ascii: "&"))
                case "lt": text.append(UInt8(ascii: "<"))
                case "gt": text.append(UInt8(ascii: ">"))
                case "quot": text.append(UInt8(ascii: "\""))
                case "apos": text.append(UInt8(ascii: "'"))
                default:
                    let number = name.hasPrefix("#x") ? UInt32(name.dropFirst(2), radix: 16) : name.hasPrefix("#") ? UInt32(name.dropFirst(), radix: 10) : nil
                    guard let number, let scalar = Unicode.Scalar(number) else { throw malformed("unknown entity &\(name);") }
                    text.append(contentsOf: Array(String(Character(scalar)).utf8))
                }
            } else {
                text.append(byte)
            }
            guard text.count <= Self.maximumText else { throw malformed("text longer than \(Self.maximumText) bytes") }
        }
        return String(decoding: text, as: UTF8.self)
    }
}
