import CSQLite
import Foundation

/// Readers for list formats other tools write: hashdeep output, NSRL reference data sets
/// (RDSv3, a SQLite database), ThreatExchange-style PDQ lists and coreutils checksum files
/// (sha256sum, sha1sum, md5sum, GNU and BSD forms). Each hands rows, or the
/// reason a record was rejected with its line (or, for NSRL, row) number, to `body`, like
/// `ListReader`.
enum Importers {
    // MARK: hashdeep

    /// hashdeep and md5deep's `-c` output: a `%%%% HASHDEEP-1.0` line, a `%%%% size,md5,…,filename`
    /// line naming the columns, `##` comments, then one file a line. The file name is the last
    /// column and may itself hold commas; it becomes the row's id.
    static func readHashdeep(path: String, defaults: RowDefaults, digest: SHA256Stream? = nil, _ body: (Result<ListRow, RowError>) throws -> Void) throws {
        let reader = try DelimitedReader(path: path, dialect: .lines, digest: digest)
        var columns: [String]?
        var sawMagic = false
        while let record = try reader.next(reportingOversized: body) {
            guard let text = record.validatedString(0) else {
                try body(.failure(RowError(file: path, line: reader.line, reason: "not valid UTF-8")))
                continue
            }
            let line = text.trimmingASCIIWhitespace()
            if line.hasPrefix("%%%%") {
                let content = line.dropFirst(4).trimmingASCIIWhitespace()
                if content.hasPrefix("HASHDEEP") {
                    sawMagic = true
                } else {
                    columns = content.split(separator: ",").map { $0.trimmingASCIIWhitespace().lowercased() }
                }
                continue
            }
            if line.hasPrefix("#") || line.isEmpty { continue }
            guard sawMagic, let columns, columns.last == "filename" else {
                throw InputError(file: path, reason: "line \(reader.line): a hashdeep file starts with '%%%% HASHDEEP-1.0' and a '%%%% size,…,filename' line")
            }
            let fields = line.split(separator: ",", maxSplits: columns.count - 1, omittingEmptySubsequences: false)
            guard fields.count == columns.count else {
                try body(.failure(RowError(file: path, line: reader.line, reason: "\(fields.count) fields where the header names \(columns.count)")))
                continue
            }
            var row = ListRow()
            do throws(RowFieldError) {
                for (column, field) in zip(columns, fields) {
                    switch column {
                    case "md5": row.setDigest(try FieldParser.digest(.md5, field))
                    case "sha1": row.setDigest(try FieldParser.digest(.sha1, field))
                    case "sha256": row.setDigest(try FieldParser.digest(.sha256, field))
                    case "filename": row.id = String(field.trimmingASCIIWhitespace())
                    default: continue  // size, tiger, whirlpool
                    }
                }
            } catch {
                try body(.failure(RowError(file: path, line: reader.line, reason: error.reason)))
                continue
            }
            try ListReader.finish(&row, line: reader.line, path: path, defaults: defaults, body)
        }
    }

    // MARK: PDQ lines

    /// One PDQ hash a line (64 hex digits), optionally followed by a comma, a tab or one space
    /// and an id, as ThreatExchange and StopNCII exports give them. `#` starts a comment line.
    static func readPDQLines(path: String, defaults: RowDefaults, digest: SHA256Stream? = nil, _ body: (Result<ListRow, RowError>) throws -> Void) throws {
        let reader = try DelimitedReader(path: path, dialect: .lines, digest: digest)
        while let record = try reader.next(reportingOversized: body) {
            guard let text = record.validatedString(0) else {
                try body(.failure(RowError(file: path, line: reader.line, reason: "not valid UTF-8")))
                continue
            }
            let line = text.trimmingASCIIWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let hashEnd = line.firstIndex { $0 == "," || $0 == "\t" || $0 == " " } ?? line.endIndex
            var row = ListRow()
            do throws(RowFieldError) {
                row.pdq = try FieldParser.pdq(line[..<hashEnd])
            } catch {
                try body(.failure(RowError(file: path, line: reader.line, reason: error.reason)))
                continue
            }
            if hashEnd < line.endIndex {
                let id = line[line.index(after: hashEnd)...].trimmingASCIIWhitespace()
                if !id.isEmpty { row.id = String(id) }
            }
            try ListReader.finish(&row, line: reader.line, path: path, defaults: defaults, body)
        }
    }

    /// Whether `line` looks like a line of a PDQ list (for format detection): 64 hex digits
    /// alone, or followed by a comma, a tab, or one space and an id. Never a checksum line:
    /// `sha256sum` puts two spaces (or a space and `*`) between the digest and the name.
    static func isPDQLine(_ line: Substring) -> Bool {
        let hash = line.utf8.prefix { $0 != UInt8(ascii: ",") && $0 != 9 && $0 != 32 }
        guard hash.count == 64, hash.allSatisfy({ Hex.nibble($0) != nil }) else { return false }
        let rest = line.utf8.dropFirst(64)
        guard let separator = rest.first else { return true }
        if separator != 32 { return true }
        guard let next = rest.dropFirst().first else { return true }
        return next != 32 && next != UInt8(ascii: "*")
    }

    // MARK: Checksum lists (sha256sum, sha1sum, md5sum)

    /// A line of a coreutils checksum file: GNU's `DIGEST  NAME` (or `DIGEST *NAME`, binary
    /// mode) or BSD's `--tag` form `SHA256 (NAME) = DIGEST`. A leading backslash means the name
    /// carries `\\`, `\n` and `\r` escapes.
    struct ChecksumLine: Equatable {
        /// nil for an algorithm hashdb does not store (SHA-512, BLAKE2…); `algorithm` names it.
        var kind: DigestKind?
        var algorithm: String
        var digest: Substring
        var name: String

        init?(_ line: Substring) {
            var text = line
            let escaped = text.hasPrefix("\\")
            if escaped { text = text.dropFirst() }
            if let parsed = Self.gnu(text) ?? Self.bsd(text) {
                self = parsed
                if escaped { name = TextEscaping.tsvUnescape(Substring(name)) }
            } else {
                return nil
            }
        }

        private init(algorithm: String, digest: Substring, name: Substring) {
            self.algorithm = algorithm
            self.digest = digest
            self.name = String(name)
            kind = DigestKind(rawValue: algorithm.lowercased())
        }

        /// Digest lengths in hex of what `*sum` programs print, by length.
        private static let algorithmByHexLength = [32: "MD5", 40: "SHA1", 56: "SHA224", 64: "SHA256", 96: "SHA384", 128: "SHA512"]

        private static func gnu(_ text: Substring) -> ChecksumLine? {
            let digest = text.prefix { $0 != " " }
            guard let algorithm = algorithmByHexLength[digest.utf8.count], digest.utf8.allSatisfy({ Hex.nibble($0) != nil }) else {
                return nil
            }
            let rest = text.dropFirst(digest.count)
            guard rest.hasPrefix("  ") || rest.hasPrefix(" *") else { return nil }
            let name = rest.dropFirst(2)
            guard !name.isEmpty else { return nil }
            return ChecksumLine(algorithm: algorithm, digest: digest, name: name)
        }

        private static func bsd(_ text: Substring) -> ChecksumLine? {
            guard let open = text.range(of: " ("), let close = text.range(of: ") = ", options: .backwards),
                open.upperBound <= close.lowerBound
            else { return nil }
            let algorithm = text[..<open.lowerBound]
            let digest = text[close.upperBound...]
            guard !algorithm.isEmpty, algorithm.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }),
                !digest.isEmpty, digest.utf8.allSatisfy({ Hex.nibble($0) != nil })
            else { return nil }
            return ChecksumLine(algorithm: algorithm.uppercased(), digest: digest, name: text[open.upperBound..<close.lowerBound])
        }
    }

    /// The digests of a `sha256sum`, `sha1sum` or `md5sum` file (GNU or `--tag` form; one file
    /// may mix them): each line a row with that digest and the file name as its id.
    static func readChecksums(path: String, defaults: RowDefaults, digest: SHA256Stream? = nil, _ body: (Result<ListRow, RowError>) throws -> Void) throws {
        let reader = try DelimitedReader(path: path, dialect: .lines, digest: digest)
        while let record = try reader.next(reportingOversized: body) {
            func reject(_ reason: String) throws { try body(.failure(RowError(file: path, line: reader.line, reason: reason))) }
            guard let text = record.validatedString(0) else {
                try reject("not valid UTF-8")
                continue
            }
            let line = Substring(text)
            if line.trimmingASCIIWhitespace().isEmpty || line.hasPrefix("#") { continue }
            guard let checksum = ChecksumLine(line) else {
                try reject("not a checksum line ('DIGEST  NAME' as sha256sum writes it, or 'SHA256 (NAME) = DIGEST')")
                continue
            }
            guard let kind = checksum.kind else {
                try reject("\(checksum.algorithm) digests are not stored by hashdb (it keeps SHA-256, SHA-1 and MD5)")
                continue
            }
            var row = ListRow()
            do throws(RowFieldError) {
                row.setDigest(try FieldParser.digest(kind, checksum.digest))
            } catch {
                try reject(error.reason)
                continue
            }
            row.id = checksum.name
            try ListReader.finish(&row, line: reader.line, path: path, defaults: defaults, body)
        }
    }

    // MARK: NSRL RDSv3

    /// The file hashes of an NSRL reference data set in its SQLite form (RDSv3): the SHA-256,
    /// SHA-1 and MD5 columns of its METADATA table (or FILE, in older or reduced sets). Row
    /// numbers stand for line numbers in rejections.
    static func readNSRL(path: String, defaults: RowDefaults, _ body: (Result<ListRow, RowError>) throws -> Void) throws {
        let database = try SQLiteReader(path: path)
        let (table, columns) = try database.hashTable()
        let statement = try database.prepare("SELECT \(columns.map { "\"\($0.name)\"" }.joined(separator: ", ")) FROM \"\(table)\"")
        var rowNumber = 0
        while try statement.step() {
            rowNumber += 1
            var row = ListRow()
            do throws(RowFieldError) {
                for (index, column) in columns.enumerated() {
                    guard let text = statement.text(index), !text.isEmpty else { continue }
                    row.setDigest(try FieldParser.digest(column.kind, Substring(text)))
                }
            } catch {
                try body(.failure(RowError(file: path, line: rowNumber, reason: error.reason)))
                continue
            }
            try ListReader.finish(&row, line: rowNumber, path: path, defaults: defaults, body)
        }
    }

    /// SQLite's file header.
    static let sqliteMagic = Array("SQLite format 3\0".utf8)
}
