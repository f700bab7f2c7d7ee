import ArgumentParser
import Foundation
import HashCore
import HashServer
import Logging

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Make API keys for hashdb serve.",
        subcommands: [NewKeyCommand.self])
}

struct NewKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Print a new API key; add its SHA-256 to a key file.",
        discussion: """
            The key (256 random bits) goes to standard output, once: the key file keeps only its \
            SHA-256, so a lost key cannot be recovered, only replaced. With --keys FILE the line \
            is appended to FILE (created readable by its owner only); without, it is printed on \
            standard error for you to add.

            Example:
              hashdb key new provider-a --rate 200 --keys keys.txt > provider-a.key
            """)

    @Argument(help: ArgumentHelp("A name for the key (shown in logs; no spaces).", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("Requests per second this key may make (default: unlimited).", valueName: "n"))
    var rate: Int?

    @Option(help: ArgumentHelp("Key file to append the key's line to.", valueName: "file"))
    var keys: String?

    func validate() throws {
        guard !name.isEmpty, !name.contains(where: { $0.isWhitespace }), !name.hasPrefix("#") else {
            throw ValidationError("the name must be non-empty, without spaces, and not start with #")
        }
        if let rate, rate < 1 { throw ValidationError("--rate must be at least 1") }
        if let keys, FileManager.default.fileExists(atPath: keys) {
            do {
                if try KeyRing(contentsOf: keys).keys.contains(where: { $0.name == name }) {
                    throw ValidationError("\(keys) already has a key named '\(name)'")
                }
            } catch let error as KeyFileError {
                throw ValidationError(error.description)
            }
        }
    }

    func run() throws {
        let generated = KeyRing.generate(name: name, ratePerSecond: rate)
        guard let keys else {
            print(generated.key)
            StandardError.line("add this line to the key file:\n\(generated.line)")
            return
        }
        do {
            try Self.append(generated.line, to: keys)
        } catch {
            StandardError.line("hashdb key new: \(keys): \(error.localizedDescription)")
            throw ExitCode(2)
        }
        print(generated.key)
        StandardError.line("added key '\(name)' to \(keys)")
    }

    static func append(_ line: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteNoPermission)
            }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((line + "\n").utf8))
    }
}
