import CSQLite
import Foundation

/// Readers for list formats other tools write: hashdeep output, NSRL reference data sets
/// (RDSv3, a SQLite database) and ThreatExchange-style PDQ lists. Each hands rows, or the
/// reason a record was rejected with its line (or, for NSRL, row) number, to `body`, like
/// `ListReader`.
enum Importers {
    // MARK: hashdeep

    /// hashdeep and md5deep's `-c` output: a `%%%% HASHDEEP-1.0` line, a `%%%% size,md5,…,filename`
    /// line naming the columns, `##` comments, then one file a line. The file name is the last
    /// column and may itself hold commas; it becomes the row's id.
    static func readHashdeep(path: String, defaults: RowDefaults, _ body: (Result<ListRow, RowError>) throws -> Void) throws {
        let reader = try DelimitedReader(path: path, dialect: .lines)
        var columns: [String]?
        var sawMagic = false
        while let record = try reader.next() {
            let line = record.string(0).trimmingASCIIWhitespace()
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

    /// One PDQ hash a line (64 hex digits), optionally followed by a comma, tab or spaces and
    /// an id, as ThreatExchange and StopNCII exports give them. `#` starts a comment line.
    static func readPDQLines(path: String, defaults: RowDefaults, _ body: (Result<ListRow, RowError>) throws -> Void) throws {
        let reader = try DelimitedReader(path: path, dialect: .lines)
        while let record = try reader.next() {
            let line = record.string(0).trimmingASCIIWhitespace()
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

    /// Whether `line` looks like a line of a PDQ list (for format detection).
    static func isPDQLine(_ line: Substring) -> Bool {
        let hash = line.prefix { $0 != "," && $0 != "\t" && $0 != " " }
        return hash.utf8.count == 64 && hash.utf8.allSatisfy { Hex.nibble($0) != nil }
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

/// A read-only SQLite database, its handle closed on deinit. Every sqlite3 call of the
/// importers is here.
final class SQLiteReader {
    let path: String
    private var handle: OpaquePointer?

    init(path: String) throws(InputError) {
        self.path = path
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            handle = nil
            throw InputError(file: path, reason: "not a readable SQLite database (\(message))")
        }
    }

    deinit {
        sqlite3_close(handle)
    }

    struct HashColumn {
        let name: String
        let kind: DigestKind
    }

    /// The table (or view) holding the file hashes, and its hash columns.
    func hashTable() throws(InputError) -> (String, [HashColumn]) {
        for candidate in ["METADATA", "FILE", "DISTINCT_HASH"] {
            let columns = try self.columns(of: candidate).compactMap { name -> HashColumn? in
                switch name.lowercased().replacingOccurrences(of: "-", with: "").replacingOccurrences(of: "_", with: "") {
                case "sha256": HashColumn(name: name, kind: .sha256)
                case "sha1": HashColumn(name: name, kind: .sha1)
                case "md5": HashColumn(name: name, kind: .md5)
                default: nil
                }
            }
            if !columns.isEmpty { return (candidate, columns) }
        }
        throw InputError(file: path, reason: "no METADATA or FILE table with sha256, sha1 or md5 columns: not an NSRL RDSv3 database")
    }

    private func columns(of table: String) throws(InputError) -> [String] {
        let statement = try prepare("PRAGMA table_info(\"\(table)\")")
        var names: [String] = []
        while try statement.step() {
            if let name = statement.text(1) { names.append(name) }
        }
        return names
    }

    func prepare(_ sql: String) throws(InputError) -> Statement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw InputError(file: path, reason: "SQLite: \(String(cString: sqlite3_errmsg(handle)))")
        }
        return Statement(database: self, statement: statement)
    }

    final class Statement {
        private let database: SQLiteReader
        private let statement: OpaquePointer

        fileprivate init(database: SQLiteReader, statement: OpaquePointer) {
            self.database = database
            self.statement = statement
        }

        deinit {
            sqlite3_finalize(statement)
        }

        /// Moves to the next row; false after the last.
        func step() throws(InputError) -> Bool {
            switch sqlite3_step(statement) {
            case SQLITE_ROW: return true
            case SQLITE_DONE: return false
            default: throw InputError(file: database.path, reason: "SQLite: \(String(cString: sqlite3_errmsg(database.handle)))")
            }
        }

        /// Column `index` of the current row as text (nil when NULL).
        func text(_ index: Int) -> String? {
            guard let bytes = sqlite3_column_text(statement, Int32(index)) else { return nil }
            return String(cString: bytes)
        }
    }
}
