import Foundation
import HashCore
import Synchronization

/// The database the service answers from, and what became of the last attempt to replace it.
///
/// A request takes `current` once and answers from it; a reload maps and verifies the new file
/// first and only then switches, so requests in flight finish on the old mapping (unmapped when
/// the last of them lets go of it) and a file that fails verification never serves.
public final class DatabaseStore: Sendable {
    public let path: String
    private let state: Mutex<State>
    /// Held for the whole of a reload, so that SIGHUP and the file watcher never verify twice at once.
    private let reloadInProgress = Mutex<Void>(())

    private struct State: Sendable {
        var current: LoadedDatabase
        var lastAttempt: ReloadAttempt?
        var reloads = 0
        var refusals = 0
        /// The file last refused, so that the watcher does not verify and refuse it again every
        /// poll; SIGHUP still retries it.
        var refused: FileIdentity?
    }

    /// How much of a file is checked before it serves.
    public enum Verification: String, Sendable, CaseIterable {
        /// The checksum over every byte (and the structural checks every open makes): the file
        /// is the one its writer wrote. Seconds for a 10 M-entry database.
        case checksum
        /// Also every structure and reference (hashdb verify): for files from a writer you do
        /// not trust. Several times longer.
        case full
    }

    public let verification: Verification

    /// Maps and verifies the database at `path`; the service does not start without one.
    public init(path: String, verification: Verification = .checksum) throws(DatabaseLoadError) {
        self.path = path
        self.verification = verification
        state = Mutex(State(current: try Self.load(path, verification: verification)))
    }

    public var current: LoadedDatabase { state.withLock { $0.current } }
    public var lastAttempt: ReloadAttempt? { state.withLock { $0.lastAttempt } }
    public var counts: (reloads: Int, refusals: Int) { state.withLock { ($0.reloads, $0.refusals) } }

    /// True when the path now names a different file than the one serving (it was renamed over).
    public func fileWasReplaced() -> Bool {
        guard let now = FileIdentity(path: path) else { return false }
        return state.withLock { now != $0.current.identity && now != $0.refused }
    }

    /// Maps and verifies the file now at the path and switches to it, or keeps the old one and
    /// says why. Blocks for as long as verification reads the file: call it off the request threads.
    @discardableResult
    public func reload() -> ReloadAttempt {
        reloadInProgress.withLock { _ in
            let attempt: ReloadAttempt
            let identity = FileIdentity(path: path)
            do {
                let loaded = try Self.load(path, verification: verification)
                attempt = ReloadAttempt(at: Date(), error: nil, checksum: Hex.encode(loaded.database.checksum, byteCount: 32))
                state.withLock { state in
                    state.current = loaded
                    state.lastAttempt = attempt
                    state.reloads += 1
                }
            } catch {
                attempt = ReloadAttempt(at: Date(), error: "\(error)", checksum: nil)
                state.withLock { state in
                    state.lastAttempt = attempt
                    state.refusals += 1
                    state.refused = identity
                }
            }
            return attempt
        }
    }

    private static func load(_ path: String, verification: Verification) throws(DatabaseLoadError) -> LoadedDatabase {
        // Identity first: if the file is replaced between here and the open, the next check sees
        // a difference and loads again, which is harmless; the other order could miss a change.
        let identity = FileIdentity(path: path)
        let database: HashDatabase
        do {
            database = try HashDatabase.open(path: path)
        } catch {
            throw .cannotOpen(error)
        }
        let problems = switch verification {
        case .checksum: database.checksumMatches() ? [] : [HashDatabase.checksumProblem]
        case .full: database.verify(limit: 5)
        }
        guard problems.isEmpty else {
            throw .failedVerification(path: path, problems: problems)
        }
        // Counted here, beside the verification, so that no /v1/info walks the entries.
        do {
            _ = try database.labelCounts()
        } catch {
            throw .failedVerification(path: path, problems: [error.description])
        }
        return LoadedDatabase(database: database, loadedAt: Date(), identity: identity)
    }
}

public struct LoadedDatabase: Sendable {
    public let database: HashDatabase
    public let loadedAt: Date
    let identity: FileIdentity?
}

public struct ReloadAttempt: Sendable {
    public let at: Date
    /// Why the new file was refused; nil when it was loaded.
    public let error: String?
    /// The checksum of the file loaded.
    public let checksum: String?
    public var succeeded: Bool { error == nil }
}

public enum DatabaseLoadError: Error, Sendable, CustomStringConvertible {
    case cannotOpen(DatabaseError)
    case failedVerification(path: String, problems: [String])

    public var description: String {
        switch self {
        case .cannotOpen(let error): error.description
        case .failedVerification(let path, let problems):
            "\(path): failed verification: \(problems.joined(separator: "; "))"
        }
    }
}
