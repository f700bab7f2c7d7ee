/// Why one row of a list was rejected; with the file and line, what a user fixes.
public struct RowError: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    /// The line (an NSRL database's row) the rejected row came from; nil for a file that is
    /// not a list (an image that could not be fingerprinted).
    public let line: Int?
    public let reason: String

    public init(file: String, line: Int?, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String { line.map { "\(file):\($0): \(reason)" } ?? "\(file): \(reason)" }
}

/// Why a whole input could not be read.
public struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}
