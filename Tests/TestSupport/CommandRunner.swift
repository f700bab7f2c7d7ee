import Foundation

/// Runs the `hashdb` executable that `swift build` put beside the test bundle.
public enum HashDBCommand {
    public struct Output: Sendable {
        public let status: Int32
        public let standardOutput: String
        public let standardError: String

        public var lines: [String] {
            standardOutput.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        }

        /// Each output line parsed as a JSON object.
        public var records: [[String: Any]] {
            lines.compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            }
        }
    }

    public static var executable: URL {
        let buildDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        return buildDirectory.appendingPathComponent("hashdb")
    }

    public static func run(_ arguments: [String], standardInput: String? = nil, currentDirectory: URL? = nil) throws -> Output {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let currentDirectory {
            process.currentDirectoryURL = currentDirectory
        }
        let outputPipe = Pipe()
        let errorPipe = Pipe()
        let inputPipe = Pipe()
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        process.standardInput = inputPipe
        try process.run()
        if let standardInput {
            inputPipe.fileHandleForWriting.write(Data(standardInput.utf8))
        }
        try inputPipe.fileHandleForWriting.close()
        // Read both pipes while the process runs, so that a full pipe never blocks it.
        // The error buffer is written by the reader thread before it signals, and read after.
        nonisolated(unsafe) var errorData = Data()
        let errorRead = DispatchSemaphore(value: 0)
        Thread {
            errorData = errorPipe.fileHandleForReading.readDataToEndOfFile()
            errorRead.signal()
        }.start()
        let outputData = outputPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        errorRead.wait()
        return Output(status: process.terminationStatus,
                      standardOutput: String(decoding: outputData, as: UTF8.self),
                      standardError: String(decoding: errorData, as: UTF8.self))
    }
}

/// Runs another program (coreutils' `sha256sum`, say) and returns its standard output.
public func standardOutput(of program: String, _ arguments: [String], in directory: URL? = nil) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return data
}
