import ArgumentParser
import Foundation
import HashCore

/// Lines to standard output, or to a file written next to its destination and renamed over it
/// when complete.
final class LineSink {
    private let file: BufferedFileWriter?
    private let destination: String?
    private let standardOutput: StandardOutput?

    init(path: String?) throws {
        destination = path
        if let path {
            file = try BufferedFileWriter(path: AtomicFile.temporaryPath(for: path, kind: "tmp"))
            standardOutput = nil
        } else {
            file = nil
            standardOutput = StandardOutput()
        }
    }

    func write(_ line: String) throws {
        if let file {
            try file.write(Array(line.utf8) + [10])
        } else {
            standardOutput?.writeLine(line)
        }
    }

    func close() throws {
        standardOutput?.flush()
        guard let file, let destination else { return }
        try file.sync()
        try file.close()
        try AtomicFile.commit(file.path, to: destination)
    }
}
