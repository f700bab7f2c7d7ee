import ArgumentParser
import Foundation
import HashCore

struct BenchQualityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-quality",
        abstract: "Measure what a PDQ threshold buys: recall and false positives per kind of edit.",
        discussion: """
            Takes a folder of originals (images like yours), lists every second one in a \
            database (--held-out-every), and makes \(Variant.allCases.count) edited copies of each \
            with hashdb's own decoders and encoders: \(Variant.allCases.map(\.rawValue).joined(separator: ", ")). \
            Every copy and every held-out original is queried through the database at \
            thresholds 0 to 64, plainly and with the 8 rotations and flips.

            Recall: the share of copies of listed originals that match their original. False \
            positives: queries that match a listed original they do not come from (held-out \
            originals are never a true match). Low-quality hashes (quality under 50, which \
            hashdb query and serve do not near-match by default) are counted in the lowQ column \
            but measured like the others here.

            Writes the table to standard output and, in --out, quality.csv (recall and false \
            positives per variant, mode and threshold), quality.json (a summary with the \
            distance distributions), recall.svg and recall-dihedral.svg (charts).

            With --videos, the paths are a folder of videos and their edited copies \
            (Benchmarks/video-quality/make-videos writes one from FFmpeg's test sources): recall \
            and false positives of vPDQ's rule per edit (re-encode, resize, frame rate, trim, \
            flip, overlay) at query percents 50 to 100, plainly and with --dihedral's rotations, \
            in the table (at --video-query-percent) and in --out/video-quality.csv.

            Examples:
              hashdb bench-quality --out quality/ ../shared/conformance/pdq/
              Benchmarks/video-quality/make-videos /tmp/edits && hashdb bench-quality --videos --out quality/ /tmp/edits
            """)

    @Option(help: ArgumentHelp("Folder for quality.csv, quality.json and the SVG charts.", valueName: "dir"))
    var out: String = "bench-quality"

    @Option(help: "List all originals but every n-th (by name), which is held out.")
    var heldOutEvery: Int = 2

    @Option(help: "Threshold the table reports recall and false positives at.")
    var threshold: Int = PDQ.matchThreshold

    @Option(help: ArgumentHelp("The false-positive rate (a fraction of all queries) to recommend a threshold for, beside 0, 0.001 and 0.01.", valueName: "rate"))
    var falsePositiveRate = 0.001

    @Option(help: "Near-match only hashes of at least this quality, on either side (0: raw distances; 50: what query and serve do).")
    var minQuality = 0

    @Flag(help: "Hash with reduced-size JPEG decoding (see hashdb hash --help), to compare with exact mode.")
    var fast = false

    @Option(help: ArgumentHelp("Instead of a folder, use this many generated abstract scenes (512×384 PNG) as originals.", valueName: "n"))
    var generated: Int?

    @Flag(help: "The paths are videos and their edits (NAME.orig.EXT, NAME.EDIT.EXT): measure vPDQ's rule instead.")
    var videos = false

    @Option(help: ArgumentHelp("With --videos: the query percent the table reports at.", valueName: "percent"))
    var videoQueryPercent: Double = VPDQ.queryMatchPercent

    @Argument(help: ArgumentHelp("Image files or folders of originals.", valueName: "path"))
    var paths: [String] = []

    func validate() throws {
        guard !paths.isEmpty || generated != nil else { throw ValidationError("name a folder of original images, or give --generated N") }
        if let generated, generated < 2 { throw ValidationError("--generated needs at least 2") }
        guard heldOutEvery >= 2 else { throw ValidationError("--held-out-every must be 2 or more") }
        guard (0...64).contains(threshold) else { throw ValidationError("--threshold must be from 0 to 64") }
        guard (0...1).contains(falsePositiveRate) else { throw ValidationError("--false-positive-rate must be from 0 to 1") }
        guard (0...100).contains(minQuality) else { throw ValidationError("--min-quality must be from 0 to 100") }
    }

    func run() throws {
        if videos { return try runVideos() }
        var options = QualityBenchmark.Options()
        options.heldOutEvery = heldOutEvery
        options.fast = fast
        options.minQuality = minQuality
        let report: QualityReport
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("hashdb-bench-quality-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: work) }
            var originals = Array(PathWalker(arguments: paths, standardInput: nil))
            if let generated {
                for seed in 0..<generated {
                    let path = work + "/scene-\(String(format: "%05d", seed)).png"
                    try Data(ImageEncoder.png(SyntheticImage.scene(width: 512, height: 384, seed: UInt64(10_000 + seed)))).write(to: URL(fileURLWithPath: path))
                    originals.append(path)
                }
            }
            report = try QualityBenchmark(options: options).run(originals: originals, workDirectory: work)
            try report.csv().write(toFile: out + "/quality.csv", atomically: true, encoding: .utf8)
            try report.json().write(toFile: out + "/quality.json", atomically: true, encoding: .utf8)
            try report.svg().write(toFile: out + "/recall.svg", atomically: true, encoding: .utf8)
            try report.svg(dihedral: true).write(toFile: out + "/recall-dihedral.svg", atomically: true, encoding: .utf8)
        } catch {
            StandardError.line("hashdb bench-quality: \(error)")
            throw ExitCode(2)
        }
        print(report.table(threshold: threshold, falsePositiveRate: falsePositiveRate))
        StandardError.line("hashdb bench-quality: wrote quality.csv, quality.json, recall.svg and recall-dihedral.svg to \(out)")
    }

    private func runVideos() throws {
        var options = VideoQualityBenchmark.Options()
        options.heldOutEvery = heldOutEvery
        options.threshold = threshold
        let rows: [VideoQualityBenchmark.Row]
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let work = try WorkDirectory(temporaryFor: "bench-quality-videos")
            rows = try VideoQualityBenchmark(options: options).run(paths: Array(PathWalker(arguments: paths, standardInput: nil)), workDirectory: work.path)
            try VideoQualityBenchmark.csv(rows).write(toFile: out + "/video-quality.csv", atomically: true, encoding: .utf8)
        } catch {
            StandardError.line("hashdb bench-quality: \(error)")
            throw ExitCode(2)
        }
        print(VideoQualityBenchmark.table(rows, queryPercent: videoQueryPercent))
        StandardError.line("hashdb bench-quality: wrote video-quality.csv to \(out)")
    }
}
