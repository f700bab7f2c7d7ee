import Synchronization

/// A value computed at most once and then shared; a failure is not kept (the next caller
/// tries again and gets the same error from the same bytes).
final class OnceCache<Value: Sendable>: Sendable {
    private let stored = Mutex<Value?>(nil)

    var isEmpty: Bool { stored.withLock { $0 == nil } }

    func value(_ compute: () throws(DatabaseError) -> Value) throws(DatabaseError) -> Value {
        try stored.withLock { (cached: inout Value?) throws(DatabaseError) -> Value in
            if let cached { return cached }
            let value = try compute()
            cached = value
            return value
        }
    }
}
