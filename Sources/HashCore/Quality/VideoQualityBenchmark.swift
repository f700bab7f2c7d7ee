import Foundation

/// `hashdb bench-quality --videos`: what vPDQ's rule buys on edited copies of videos. The
/// folder holds originals (`NAME.orig.EXT`) and their edits (`NAME.EDIT.EXT`, as
/// Benchmarks/video-quality/make-videos writes them); every `heldOutEvery`-th original is held
/// out, the others are listed; every edit and held-out original is matched against the list, and
/// recall (an edit of a listed original matches it) and false positives (a query matches a listed
/// original it does not come from) are counted per edit at each query-percent threshold, plainly
/// and with the 8 rotations and flips.
public struct VideoQualityBenchmark {
    public struct Options: Sendable {
        public var heldOutEvery = 2
        public var threshold = PDQ.matchThreshold
        public var minQuality = PDQ.qualityThreshold
        public var queryPercents: [Double] = [50, 60, 70, 80, 90, 100]
        public var video = VPDQ.Options()
        public var videoLimits = VideoLimits.default
        public init() {}
    }

    /// One edit kind at one query-percent threshold.
    public struct Row: Sendable, Equatable {
        public var edit: String
        public var queryPercent: Double
        public var dihedral: Bool
        /// Copies of listed originals, and how many matched their own.
        public var copies = 0
        public var found = 0
        /// Queries of this kind (copies of any original, or held-out originals), and how many
        /// matched a listed original they do not come from.
        public var queries = 0
        public var falsePositives = 0
        /// The query percent of each copy against its own original (0 when not reached).
        public var ownPercents: [Double] = []
    }

    public let options: Options
    public init(options: Options = Options()) { self.options = options }

    /// `NAME.EDIT.EXT` → (NAME, EDIT); nil for other names.
    static func parse(_ path: String) -> (original: String, edit: String)? {
        let parts = (path as NSString).lastPathComponent.split(separator: ".")
        guard parts.count == 3 else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    public func run(paths: [String], workDirectory: String) throws -> [Row] {
        let files = paths.compactMap { path in Self.parse(path).map { (path, $0.original, $0.edit) } }.sorted { $0.0 < $1.0 }
        let originals = files.filter { $0.2 == "orig" }.map(\.1).sorted()
        guard originals.count >= 2 else {
            throw InputError(file: paths.first ?? ".", reason: "needs at least 2 originals named NAME.orig.EXT (Benchmarks/video-quality/make-videos)")
        }
        let listed = Set(originals.enumerated().filter { ($0.offset + 1) % options.heldOutEvery != 0 }.map(\.element))
        let fingerprinter = Fingerprinter(dihedral: true, videoHasher: VPDQHasher(limits: options.videoLimits, options: options.video))
        var videos: [String: StoredVideo] = [:]
        for (path, _, _) in files {
            let fingerprint = try fingerprinter.fingerprint(path: path)
            guard case .success(let video)? = fingerprint.video else {
                throw InputError(file: path, reason: "not a video hashdb can hash")
            }
            videos[path] = StoredVideo(video)
        }
        let builder = try DatabaseBuilder(destination: workDirectory + "/videos.hdb", options: .init(memoryBudget: 64 << 20))
        for (path, original, edit) in files where edit == "orig" && listed.contains(original) {
            var row = ListRow(id: original)
            row.video = videos[path]
            try builder.add(row)
        }
        _ = try builder.write()
        let database = try HashDatabase.open(path: workDirectory + "/videos.hdb")

        var rows: [String: Row] = [:]
        for (path, original, edit) in files where edit != "orig" || !listed.contains(original) {
            let kind = edit == "orig" ? "held-out" : edit
            for dihedral in [false, true] {
                let options = MatchOptions(threshold: self.options.threshold, dihedral: dihedral, minQuality: self.options.minQuality,
                                           videoQueryPercent: 0, videoComparedPercent: 0)
                let matches = try database.match(QueryHashes(video: videos[path]), options: options).matches.filter { $0.kind == .vpdq }
                let own = matches.first { $0.entry.id == original }?.video?.queryPercent ?? 0
                for threshold in self.options.queryPercents {
                    let key = "\(kind)|\(threshold)|\(dihedral)"
                    var row = rows[key] ?? Row(edit: kind, queryPercent: threshold, dihedral: dihedral)
                    row.queries += 1
                    if matches.contains(where: { $0.entry.id != original && $0.video!.queryPercent! >= threshold }) { row.falsePositives += 1 }
                    if listed.contains(original) && edit != "orig" {
                        row.copies += 1
                        row.ownPercents.append(own)
                        if own >= threshold { row.found += 1 }
                    }
                    rows[key] = row
                }
            }
        }
        return rows.values.sorted { ($0.edit, $0.dihedral ? 1 : 0, $0.queryPercent) < ($1.edit, $1.dihedral ? 1 : 0, $1.queryPercent) }
    }

    /// The table at `queryPercent`: recall plain and with rotations, false positives, and the
    /// copies' query percents against their own originals.
    public static func table(_ rows: [Row], queryPercent: Double) -> String {
        var lines = ["edit        copies  recall  recall(dihedral)  false positives  own query % (min / median)"]
        let edits = Array(Set(rows.map(\.edit))).sorted()
        for edit in edits {
            guard let plain = rows.first(where: { $0.edit == edit && !$0.dihedral && $0.queryPercent == queryPercent }),
                let turned = rows.first(where: { $0.edit == edit && $0.dihedral && $0.queryPercent == queryPercent })
            else { continue }
            func share(_ part: Int, _ whole: Int) -> String { whole == 0 ? "-" : String(format: "%.2f", Double(part) / Double(whole)) }
            let sorted = plain.ownPercents.sorted()
            let spread = sorted.isEmpty ? "-" : String(format: "%.0f / %.0f", sorted.first!, sorted[sorted.count / 2])
            func padded(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
            lines.append(padded(edit, 12) + padded(String(plain.copies), 8) + padded(share(plain.found, plain.copies), 8)
                         + padded(share(turned.found, turned.copies), 18) + padded("\(plain.falsePositives) of \(plain.queries)", 17) + spread)
        }
        return lines.joined(separator: "\n")
    }

    public static func csv(_ rows: [Row]) -> String {
        var lines = ["edit,query_percent,dihedral,copies,found,recall,queries,false_positives"]
        for row in rows {
            lines.append("\(row.edit),\(row.queryPercent),\(row.dihedral),\(row.copies),\(row.found),"
                         + (row.copies == 0 ? "" : String(format: "%.4f", Double(row.found) / Double(row.copies))) + ",\(row.queries),\(row.falsePositives)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
