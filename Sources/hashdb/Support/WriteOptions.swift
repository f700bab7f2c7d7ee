import ArgumentParser
import Foundation
import HashCore

/// Sort memory and stage reports, shared by the commands that write databases.
struct WriteOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Memory for sort buffers, in MiB (the job needs about this plus 8 bytes a row or input entry).", valueName: "MiB"))
    var memory: Int = 512

    @Flag(help: "Report each stage, with its time, on standard error.")
    var verbose = false

    @Option(help: ArgumentHelp("Record this creation time in the header ('now' or a date); by default none, so that the same inputs give the same bytes.", valueName: "time"))
    var created: String?

    func validate() throws {
        guard memory >= 16 else { throw ValidationError("--memory must be at least 16 (MiB)") }
        if let created, created != "now", parsedTime(created) == nil {
            throw ValidationError("--created '\(created)' is not 'now', a date or a time")
        }
    }

    var createdAt: Int64? { created.map { $0 == "now" ? Int64(Date().timeIntervalSince1970) : parsedTime($0)! } }

    func builderOptions(nearIndex: Bool = true) -> DatabaseBuilder.Options {
        DatabaseBuilder.Options(memoryBudget: memory << 20, createdAt: createdAt, nearIndexTables: nearIndex ? nil : 0)
    }
}
