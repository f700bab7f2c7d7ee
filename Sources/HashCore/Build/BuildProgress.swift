import CShims
import Foundation

/// Where a long build or merge is: the stage under way and, when it can be counted, how far
/// along (a terminal shows it as a bar).
public struct BuildProgress: Sendable, Equatable {
    public var stage: String
    public var done: Int
    public var total: Int?

    public init(stage: String, done: Int = 0, total: Int? = nil) {
        self.stage = stage
        self.done = done
        self.total = total
    }

    /// Whether `index` is a good moment to report (every 2^20 items).
    @inline(__always) static func due(_ index: Int) -> Bool { index & 0xFFFFF == 0 }
}

