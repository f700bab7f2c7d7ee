import ArgumentParser
import Foundation
import HashCore

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "What a rebuild changed: entries added, removed, relabelled.",
        discussion: """
            Entries are matched across the two databases by shared digests, as a merge links \
            them. The summary counts entries added (in NEW only), removed (in OLD only), and \
            changed (in both, with different categories or sources), and the removals and \
            allowlist entries each carries. Read it before deploying tonight's file.

            --list also writes each change as a JSON line: change, key (the entry's smallest \
            key, "<kind>:<hex>"), id, categories and sources (for a change, "old" and "new").

            Exit status: 0 when the databases hold the same entries and labels, 1 when they \
            differ, 2 on an error.

            Example:
              hashdb diff --list live.hdb tonight.hdb | head
            """)

    @Argument(help: ArgumentHelp("The database as it was.", valueName: "old"))
    var old: String

    @Argument(help: ArgumentHelp("The database as it is now.", valueName: "new"))
    var new: String

    @Flag(help: "List every change as a JSON line on standard output.")
    var list = false

    @Option(help: "Summary format: text or json.")
    var format: InfoCommand.InfoFormat = .text

    func run() throws {
        let before: HashDatabase
        let after: HashDatabase
        do {
            before = try HashDatabase.openVerifyingChecksum(path: old)
            after = try HashDatabase.openVerifyingChecksum(path: new)
        } catch {
            StandardError.line("hashdb diff: \(error)")
            throw ExitCode(2)
        }
        let work = try WorkDirectory(temporaryFor: "diff")
        let output = StandardOutput()
        let summary = try DatabaseDiff.compare(old: before, new: after, workDirectory: work.path) { item in
            guard list else { return }
            output.writeLine(Self.json(item))
        }
        output.flush()

        var json = JSONWriter()
        json.beginObject()
        json.member("old", old)
        json.member("new", new)
        json.member("old_entries", summary.oldEntries)
        json.member("new_entries", summary.newEntries)
        json.member("added", summary.added)
        json.member("removed", summary.removed)
        json.member("changed", summary.changed)
        json.member("unchanged", summary.unchanged)
        json.member("old_removals", summary.oldTombstones)
        json.member("new_removals", summary.newTombstones)
        json.member("old_allowlist", summary.oldAllowEntries)
        json.member("new_allowlist", summary.newAllowEntries)
        json.endObject()
        let report = format == .json ? [json.output] : [
            "old        \(old): \(summary.oldEntries) entries",
            "new        \(new): \(summary.newEntries) entries",
            "added      \(summary.added)",
            "removed    \(summary.removed)",
            "changed    \(summary.changed) (categories or sources)",
            "unchanged  \(summary.unchanged)",
            "removals   \(summary.oldTombstones) → \(summary.newTombstones)",
            "allowlist  \(summary.oldAllowEntries) → \(summary.newAllowEntries)",
        ]
        // With --list the summary goes to standard error, so standard output stays JSON Lines.
        for line in report {
            if list { StandardError.line(line) } else { print(line) }
        }
        if summary.added + summary.removed + summary.changed > 0 { throw ExitCode(1) }
    }

    static func json(_ item: DatabaseDiff.Item) -> String {
        var json = JSONWriter()
        json.beginObject()
        json.member("change", item.change.rawValue)
        json.member("key", item.key)
        let side = item.new.isEmpty ? item.old : item.new
        json.member("id", side.first?.id ?? "")
        func labels(_ entries: [DatabaseEntry]) {
            json.member("categories", strings: Array(Set(entries.flatMap(\.categories))).sorted())
            json.member("sources", strings: Array(Set(entries.flatMap(\.sources))).sorted())
        }
        if item.change == .changed {
            json.key("old")
            json.beginObject()
            labels(item.old)
            json.endObject()
            json.key("new")
            json.beginObject()
            labels(item.new)
            json.endObject()
        } else {
            labels(side)
        }
        json.endObject()
        return json.output
    }
}
