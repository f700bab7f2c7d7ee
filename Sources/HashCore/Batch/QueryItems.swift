/// What `hashdb query` is asked about: hashes given as text and files to fingerprint.
public enum QueryItem: Sendable, Equatable {
    case hash(String)
    case file(String)

    /// How the item is named in the answer.
    public var name: String {
        switch self {
        case .hash(let text), .file(let text): text
        }
    }
}

/// The items named by arguments, as `PathWalker` walks them, where a line of standard input
/// (`-`) that is a hash is a `.hash` and any other line a path to walk.
public struct QueryItems: Sequence, IteratorProtocol {
    private var arguments: [String]
    private var current: PathWalker?
    private let readLine: () -> String?
    private var readingStandardInput = false

    public init(arguments: [String], standardInput: @escaping () -> String? = { Swift.readLine(strippingNewline: true) }) {
        self.arguments = arguments.reversed()
        readLine = standardInput
    }

    public mutating func next() -> QueryItem? {
        while true {
            if let path = current?.next() { return .file(path) }
            current = nil
            if readingStandardInput {
                guard let line = readLine() else {
                    readingStandardInput = false
                    continue
                }
                let trimmed = line.trimmingASCIIWhitespace()
                guard !trimmed.isEmpty else { continue }
                if HashText.isHash(String(trimmed)) { return .hash(String(trimmed)) }
                current = PathWalker(arguments: [String(trimmed)], standardInput: nil)
                continue
            }
            guard let argument = arguments.popLast() else { return nil }
            if argument == "-" {
                readingStandardInput = true
            } else {
                current = PathWalker(arguments: [argument], standardInput: nil)
            }
        }
    }
}
