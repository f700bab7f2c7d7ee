import CSQLite
import Foundation

/// A read-only SQLite database, its handle closed on deinit. Every sqlite3 call of the
/// importers is here.
///
/// An NSRL file comes from outside and is opened defensively: immutable and read-only (no
/// journal, no locks, nothing written), `SQLITE_DBCONFIG_DEFENSIVE` and `trusted_schema`
/// off (no functions run from the schema), small length limits, and a progress handler that
/// stops any one step running longer than a plain table read could. Only tables are read,
/// never views: a view (a recursive one yields rows without end) is refused by name.
final class SQLiteReader {
    let path: String
    private var handle: OpaquePointer?
    /// Virtual-machine instructions one `step` may take (a row of a plain table scan takes
    /// tens); counted in units of `progressInterval`.
    private static let progressInterval: Int32 = 1_000
    static let maximumStepWork = 10_000
    private let stepWork = UnsafeMutablePointer<Int>.allocate(capacity: 1)

    init(path: String) throws(InputError) {
        self.path = path
        stepWork.initialize(to: 0)
        var uri = "file:"
        for byte in path.utf8 {
            // Percent-encode everything a URI could read as syntax.
            let isLetter = (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A
            if isLetter || (byte >= 0x30 && byte <= 0x39) || byte == 0x2F || byte == 0x2E || byte == 0x2D || byte == 0x5F {
                uri.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                uri += (byte < 16 ? "%0" : "%") + String(byte, radix: 16, uppercase: true)
            }
        }
        uri += "?immutable=1"
        guard sqlite3_open_v2(uri, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nil) == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            self.handle = nil
            throw InputError(file: path, reason: "not a readable SQLite database (\(message))")
        }
        guard hdb_sqlite3_db_config_flag(handle, SQLITE_DBCONFIG_DEFENSIVE, 1) == SQLITE_OK,
            hdb_sqlite3_db_config_flag(handle, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0) == SQLITE_OK,
            hdb_sqlite3_db_config_flag(handle, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0) == SQLITE_OK,
            hdb_sqlite3_db_config_flag(handle, SQLITE_DBCONFIG_ENABLE_VIEW, 0) == SQLITE_OK
        else {
            throw InputError(file: path, reason: "SQLite refused its defensive settings")
        }
        sqlite3_limit(handle, SQLITE_LIMIT_LENGTH, 1 << 20)
        sqlite3_limit(handle, SQLITE_LIMIT_SQL_LENGTH, 1 << 16)
        sqlite3_limit(handle, SQLITE_LIMIT_COLUMN, 256)
        sqlite3_limit(handle, SQLITE_LIMIT_EXPR_DEPTH, 64)
        sqlite3_limit(handle, SQLITE_LIMIT_COMPOUND_SELECT, 8)
        sqlite3_limit(handle, SQLITE_LIMIT_ATTACHED, 0)
        sqlite3_limit(handle, SQLITE_LIMIT_TRIGGER_DEPTH, 1)
        sqlite3_progress_handler(handle, Self.progressInterval, { context in
            let work = context!.assumingMemoryBound(to: Int.self)
            work.pointee += 1
            return work.pointee > SQLiteReader.maximumStepWork ? 1 : 0
        }, stepWork)
    }

    deinit {
        sqlite3_close(handle)
        stepWork.deallocate()
    }

    struct HashColumn {
        let name: String
        let kind: DigestKind
    }

    /// The table holding the file hashes, and its hash columns. Only the tables RDSv3
    /// documents, and only when they are tables (not views).
    func hashTable() throws(InputError) -> (String, [HashColumn]) {
        for candidate in ["METADATA", "FILE", "DISTINCT_HASH"] where try isTable(candidate) {
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

    private func isTable(_ name: String) throws(InputError) -> Bool {
        let statement = try prepare("SELECT type FROM sqlite_schema WHERE name = '\(name)' COLLATE NOCASE")
        var types: [String] = []
        while try statement.step() {
            if let type = statement.text(0) { types.append(type) }
        }
        if types.contains("view") {
            throw InputError(file: path, reason: "\(name) is a view, not a table: an NSRL RDSv3 database has tables only")
        }
        return types.contains("table")
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
            database.stepWork.pointee = 0
            switch sqlite3_step(statement) {
            case SQLITE_INTERRUPT:
                throw InputError(file: database.path, reason: "SQLite: a step took more work than reading a table row can (a hostile schema?)")
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
