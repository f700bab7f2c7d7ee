import Foundation

/// The last stages, shared by a build and a merge once their entries are written: the digest
/// indexes (from the key stream) and the id index on one core while the PDQ table and its near
/// index are made on the other, then the removals and allowlist, the manifest and the commit.
/// A build fills the PDQ table from its sort, a merge from its inputs' tables; the rest is one.
enum IndexStage {
    struct Counts {
        var digests: [DigestKind: Int] = [:]
        var pdqHashes = 0
        var allowEntries = 0
    }

    /// Writes the rest of the file and commits it; `manifest` is asked for the manifest text
    /// once the counts are known. Returns the counts and the file's checksum.
    static func finish(
        output: DatabaseOutput, workDirectory: String, keyCounts: [Int], entryOfRow: EntryNumbering, entryWriter: EntryWriter,
        annotations: AnnotationWriter, options: DatabaseBuilder.Options, entryCount: Int, createdAt: Int64?, destination: String,
        progress: ((BuildProgress) -> Void)?, fillPDQTable: (PDQTableWriter) throws -> Void, manifest: (Counts) -> String
    ) throws -> (counts: Counts, checksum: Bytes32) {
        progress?(BuildProgress(stage: "writing the indexes"))
        let idIndex = IDKey.indexWriter(count: entryWriter.idSorter.count, in: output)
        let keyStreamPath = workDirectory + "/keys.spill"
        let (digestSections, pdqCount) = try inParallel({
            let sections = try DigestIndexWriter.writeAll(keyStreamPath: keyStreamPath, counts: keyCounts, entryOfRow: entryOfRow, directory: workDirectory)
            try IDKey.writeIndex(from: entryWriter.idSorter, to: idIndex)
            return sections
        }, {
            let pdqTable = try PDQTableWriter(directory: workDirectory)
            try fillPDQTable(pdqTable)
            try pdqTable.finish(into: output, nearIndexTables: options.nearIndexTables, memoryBudget: PDQTableWriter.nearIndexMemory(options.memoryBudget))
            return pdqTable.count
        })
        var counts = Counts()
        counts.pdqHashes = pdqCount
        for section in digestSections { try output.place(section) }
        for (kind, section) in zip(DigestKind.allCases, digestSections) {
            counts.digests[kind] = section.count
        }
        let annotationSections = try annotations.finish(directory: workDirectory)
        counts.allowEntries = annotationSections.first { $0.kind == .allowlist }?.count ?? 0
        for section in annotationSections { try output.place(section) }
        let manifestBytes = Array(manifest(counts).utf8)
        try output.place(SectionContent(kind: .manifest, count: manifestBytes.count, pieces: [.bytes(manifestBytes)]))

        progress?(BuildProgress(stage: "writing \(destination)"))
        return (counts, try output.commit(entryCount: entryCount, createdAt: createdAt))
    }
}
