import ArgumentParser
import Foundation
import HashCore

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write everything in a database as a list that hashdb build reads back.",
        discussion: """
            One row per entry (and one more for each further id, digest or PDQ hash it holds), \
            with the columns hashdb build reads, plus a "record" column for what is not an \
            entry: the removals ("removed") and allowlist ("allowed") the database carries, and \
            its build manifest ("manifest"), first. hashdb build with the export as its only \
            input, and no --source, --category, --added, --created, --remove or --allow, writes \
            the same database byte for byte.

            Examples:
              hashdb export known.hdb > known.jsonl
              hashdb export --format csv --output known.csv known.hdb
            """)

    @Argument(help: ArgumentHelp("The database.", valueName: "db"))
    var db: String

    @Option(help: "csv or jsonl.")
    var format: ListWriter.Format = .jsonl

    @Option(name: [.short, .long], help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("Memory for the sort that gathers each entry's hashes, in MiB.", valueName: "MiB"))
    var memory: Int = 256

    func run() throws {
        let database: HashDatabase
        do {
            database = try HashDatabase.openVerifyingChecksum(path: db)
        } catch {
            StandardError.line("hashdb export: \(error)")
            throw ExitCode(2)
        }
        let sink = try LineSink(path: output)
        let work = try output.map { try WorkDirectory(beside: $0) } ?? WorkDirectory(temporaryFor: "export")
        try DatabaseExport.writeLines(of: database, format: format, workDirectory: work.path, memoryBudget: memory << 20, sink.write)
        try sink.close()
    }
}

extension ListWriter.Format: ExpressibleByArgument {}
