import ArgumentParser
import Foundation
import HashCore

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Look images, videos or hashes up in a database.",
        discussion: """
            A query is an image or video file (or a directory of them, fingerprinted as hashdb \
            hash does), a hash given with --hash, every row of a list given with --list (hashdb \
            hash output, a vPDQ file, any list build reads), or, with -, one per line of standard \
            input (a line that is a hash is a hash, anything else a path). A hash's length tells \
            its kind: 32 hex digits MD5, 40 SHA-1, 64 SHA-256 or PDQ (both are tried); "pdq:…" or \
            "sha256:…" says which.

            A video is matched by its digests, then frame by frame: a stored video matches by \
            vPDQ's rule (kind vpdq: at least --video-query-percent of the query's distinct frames \
            of good quality within --threshold of a frame of the stored video, and at least \
            --video-compared-percent of the stored video's within --threshold of the query's; \
            python-threatexchange's 80 and 0 by default), with both percentages and the time \
            ranges that match on each side. A stored image found among the video's frames is a \
            match of kind frame, with the frames and times where it appears; so is an image \
            query found among a stored video's frames.

            One JSON Lines record per query: "query", "hashes" (what was matched), and "matches", \
            each with id, kind (sha256, sha1, md5 or pdq), distance (0 when exact), transform \
            (the rotation or flip of the query that matched; orig without --dihedral), \
            categories and sources. Exact matches come first, then near matches by distance.

            PDQ hashes of quality under --min-quality on either side are not near-matched: \
            blank and near-uniform images all hash alike. The record says so ("near_skipped"); \
            exact digests still match.

            A query whose digest is on the database's allowlist matches nothing, and one whose \
            PDQ hash lies within an allowlisted hash's radius gets no near matches; the record \
            lists them under "suppressed". --explain says why each answer is what it is.

            Exit status, as grep: 0 when some query matched, 1 when none did, 2 on an error.

            Examples:
              hashdb query --db known.hdb upload.jpg
              hashdb query --db known.hdb --dihedral --threshold 20 reported/
              hashdb query --db known.hdb --hash d41d8cd98f00b204e9800998ecf8427e
            """)

    @Option(help: ArgumentHelp("The database.", valueName: "db"))
    var db: String

    @Option(help: "Largest PDQ Hamming distance that is a match (0–256).")
    var threshold: Int = PDQ.matchThreshold

    @Option(help: ArgumentHelp("Refuse a --threshold above this (for scripts that pass a threshold on from elsewhere); no maximum unless given.", valueName: "n"))
    var maxThreshold: Int?

    @Option(help: ArgumentHelp("Report at most this many matches per query, closest first, marking the record \"truncated\"; all unless given.", valueName: "n"))
    var maxMatches: Int?

    @Flag(help: "Also match the 7 rotations and flips of each query image.")
    var dihedral = false

    @Option(help: "Near-match only PDQ hashes of at least this quality (0–100).")
    var minQuality: Int = PDQ.qualityThreshold

    @Option(help: ArgumentHelp("Only report entries with this category (repeatable).", valueName: "category"))
    var category: [String] = []

    @Option(help: ArgumentHelp("Only report entries from this source (repeatable).", valueName: "source"))
    var source: [String] = []

    @Option(help: "Record format: jsonl, or tsv (a header row, then one row per match).")
    var format: RecordFormat = .jsonl

    @Option(name: .customLong("hash"), help: ArgumentHelp("A digest or PDQ hash to look up (repeatable).", valueName: "hex"))
    var hashes: [String] = []

    @Flag(help: "Decode JPEGs at reduced size (see hashdb hash --help).")
    var fast = false

    @Option(name: .customLong("list"), help: ArgumentHelp("A list whose every row is a query (repeatable): hashdb hash output, a vPDQ file, CSV…", valueName: "file"))
    var lists: [String] = []

    @Option(help: ArgumentHelp("A video matches a stored one when at least this percentage of its distinct frames match (0–100).", valueName: "percent"))
    var videoQueryPercent: Double = VPDQ.queryMatchPercent

    @Option(help: ArgumentHelp("…and at least this percentage of the stored video's frames (0–100).", valueName: "percent"))
    var videoComparedPercent: Double = VPDQ.comparedMatchPercent

    @OptionGroup(title: "Videos") var videoOptions: VideoOptions

    @Flag(help: "Also compute query videos' TMK+PDQF (through the ffmpeg program) and match them against the database's TMKs.")
    var tmk = false

    @Option(help: ArgumentHelp("TMK level-1 score (cosine of the pure averages) a stored video must reach to be scored at level 2.", valueName: "score"))
    var tmkLevel1: Float = TMK.level1Threshold

    @Option(help: ArgumentHelp("TMK level-2 score that is a match.", valueName: "score"))
    var tmkLevel2: Float = TMK.level2Threshold

    @Option(help: ArgumentHelp("The ffmpeg program TMK takes its frames from.", valueName: "path"))
    var ffmpeg: String = TMKFrameSource.defaultProgram

    @Flag(help: "Report on standard error how many queries were answered and how fast (from the first to the last answer, in this process).")
    var stats = false

    @Flag(help: "Explain each answer on standard error: what matched and how, which allowlist suppressed what, which removals name the query.")
    var explain = false

    @OptionGroup var jobs: JobsOption
    @OptionGroup var limitOptions: LimitOptions

    @Argument(help: ArgumentHelp("Image files and directories; - reads queries from standard input.", valueName: "path"))
    var paths: [String] = []

    func validate() throws {
        guard !paths.isEmpty || !hashes.isEmpty || !lists.isEmpty else {
            throw ValidationError("give images or videos, --hash values, --list files, or - to read queries from standard input")
        }
        guard (-1...1).contains(tmkLevel1), (-1...1).contains(tmkLevel2) else {
            throw ValidationError("--tmk-level1 and --tmk-level2 must be from -1 to 1")
        }
        guard (0...100).contains(videoQueryPercent), (0...100).contains(videoComparedPercent) else {
            throw ValidationError("--video-query-percent and --video-compared-percent must be from 0 to 100")
        }
        guard (0...256).contains(threshold) else { throw ValidationError("--threshold must be from 0 to 256") }
        if let maxThreshold, threshold > maxThreshold {
            throw ValidationError("--threshold \(threshold) is above --max-threshold \(maxThreshold)")
        }
        if let maxMatches, maxMatches < 1 { throw ValidationError("--max-matches must be at least 1") }
        guard (0...100).contains(minQuality) else { throw ValidationError("--min-quality must be from 0 to 100") }
        for hash in hashes {
            if case .failure(let error) = QueryInput.parseHash(hash) {
                throw ValidationError("--hash \(error)")
            }
        }
    }

    func run() throws {
        let database: HashDatabase
        do {
            database = try HashDatabase.open(path: db)
        } catch {
            StandardError.line("hashdb query: \(error)")
            throw ExitCode(2)
        }
        var options = MatchOptions(threshold: threshold, dihedral: dihedral, minQuality: minQuality,
                                   categories: Set(category), sources: Set(source), explain: explain, maxMatches: maxMatches,
                                   videoQueryPercent: videoQueryPercent, videoComparedPercent: videoComparedPercent)
        options.tmkLevel1 = tmkLevel1
        options.tmkLevel2 = tmkLevel2
        let output = StandardOutput()
        if format == .tsv {
            output.writeLine(QueryRecord.tsvHeader)
        }
        var anyMatch = false
        var anyError = false
        var answered = 0
        let started = ContinuousClock.now
        func answer(_ query: String, _ outcome: Result<QueryHashes, QueryFailure>) {
            let record: QueryRecord
            switch outcome {
            case .success(let hashes):
                do {
                    let result = try database.match(hashes, options: options)
                    anyMatch = anyMatch || !result.matches.isEmpty
                    if explain {
                        for line in MatchRecord.explanation(result) { StandardError.line("hashdb query: \(query): \(line)") }
                    }
                    record = QueryRecord(query: query, hashes: hashes, result: result, error: nil)
                } catch {
                    anyError = true
                    record = QueryRecord(query: query, hashes: hashes, result: nil, error: QueryFailure(message: error.description, code: error.code))
                }
            case .failure(let failure):
                anyError = true
                record = QueryRecord(query: query, hashes: nil, result: nil, error: failure)
            }
            for line in format == .jsonl ? [record.json()] : record.tsv() {
                output.writeLine(line)
            }
            answered += 1
        }

        for hash in hashes {
            answer(hash, QueryInput.parseHash(hash))
        }
        for list in lists {
            do {
                try ListReader.read(path: list) { row in
                    switch row {
                    case .success(let row):
                        answer(row.id ?? "\(list):\(row.line ?? 0)", .success(QueryHashes(row)))
                    case .failure(let error):
                        answer("\(list):\(error.line ?? 0)", .failure(QueryFailure(message: error.description, code: "bad_row")))
                    }
                }
            } catch {
                answer(list, .failure(QueryFailure(message: "\(error)", code: "unreadable_list")))
            }
        }
        let decoder = ImageDecoder(limits: limitOptions.limits, scaling: fast ? .fast : .exact)
        let wantsDihedral = dihedral
        let videoOptions = self.videoOptions
        let maxPixels = limitOptions.maxPixels
        let tmkSource = tmk ? TMKFrameSource(program: ffmpeg, limits: videoOptions.hasher(maxPixels: maxPixels).limits) : nil
        // Lines of standard input that are hashes are answered in place; the rest are paths.
        OrderedParallelMap<QueryItem, Result<QueryHashes, QueryFailure>>(jobs: jobs.count).run(
            QueryItems(arguments: paths),
            makeWorker: {
                Fingerprinter(decoder: decoder, dihedral: wantsDihedral, videoHasher: videoOptions.hasher(maxPixels: maxPixels), tmkSource: tmkSource)
            },
            transform: { (fingerprinter: inout Fingerprinter, item: QueryItem) -> Result<QueryHashes, QueryFailure> in
                switch item {
                case .hash(let text):
                    return QueryInput.parseHash(text)
                case .file(let path):
                    do throws(FileReadError) {
                        return .success(QueryHashes(try fingerprinter.fingerprint(path: path)))
                    } catch {
                        return .failure(QueryFailure(message: error.description, code: error.code))
                    }
                }
            },
            emit: { item, outcome in answer(item.name, outcome) })
        output.flush()
        if stats {
            let seconds = (ContinuousClock.now - started).seconds
            StandardError.line(String(format: "hashdb query: queries=%d seconds=%.3f queries_per_second=%.1f", answered, seconds,
                                      Double(answered) / max(seconds, 1e-9)))
        }
        if anyError { throw ExitCode(2) }
        if !anyMatch { throw ExitCode(1) }
    }
}

struct QueryFailure: Error, Sendable {
    let message: String
    let code: String
}

enum QueryInput {
    static func parseHash(_ text: String) -> Result<QueryHashes, QueryFailure> {
        do throws(HashText.ParseError) {
            return .success(try HashText.parse(text))
        } catch {
            return .failure(QueryFailure(message: error.description, code: "bad_hash"))
        }
    }
}

/// One query's line(s) of output.
struct QueryRecord {
    let query: String
    let hashes: QueryHashes?
    let result: MatchResult?
    let error: QueryFailure?

    func json() -> String {
        var json = JSONWriter()
        json.beginObject()
        json.member("query", query)
        if let hashes {
            MatchRecord.writeHashes(hashes, into: &json)
        }
        if let result {
            MatchRecord.writeResult(result, into: &json)
        }
        if let error {
            json.member("error", error.message)
            json.member("error_code", error.code)
        }
        json.endObject()
        return json.output
    }

    static let tsvHeader = "query\tkind\tdistance\ttransform\tid\tcategories\tsources\terror"

    func tsv() -> [String] {
        let escapedQuery = TextEscaping.tsvField(query)
        guard let result, !result.matches.isEmpty else {
            return ["\(escapedQuery)\t\t\t\t\t\t\t\(TextEscaping.tsvField(error?.message ?? ""))"]
        }
        return result.matches.map { match in
            [escapedQuery, match.kind.rawValue, String(match.distance), match.transform.name, TextEscaping.tsvField(match.entry.id),
             TextEscaping.tsvField(match.entry.categories.joined(separator: ";")),
             TextEscaping.tsvField(match.entry.sources.joined(separator: ";")), ""].joined(separator: "\t")
        }
    }
}
