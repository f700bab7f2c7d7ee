import ArgumentParser
import Foundation
import HashCore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check databases in full: checksum, structure, every reference.",
        discussion: "Exit status 0 only when every database given is sound; otherwise each problem is listed and the status is 2.")

    @Argument(help: ArgumentHelp("Databases to check.", valueName: "db"))
    var databases: [String] = []

    func validate() throws {
        guard !databases.isEmpty else { throw ValidationError("name at least one database") }
    }

    func run() throws {
        var sound = true
        for path in databases {
            do {
                let database = try HashDatabase.open(path: path)
                let problems = database.verify()
                if problems.isEmpty {
                    print("\(path): ok (\(database.entryCount) entries, sha256:\(Hex.encode(database.checksum, byteCount: 32)))")
                } else {
                    sound = false
                    for problem in problems {
                        print("\(path): \(problem)")
                    }
                }
            } catch {
                sound = false
                print("\(error)")
            }
        }
        if !sound { throw ExitCode(2) }
    }
}
