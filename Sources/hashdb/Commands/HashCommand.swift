import ArgumentParser
import Foundation
import HashCore

struct HashCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash",
        abstract: "Fingerprint image and video files: SHA-256, SHA-1, MD5, and PDQ or vPDQ.",
        discussion: """
            One record per file, in the order the files were named (directories in name order), \
            whatever --jobs is. JSON Lines fields: path, sha256, sha1, md5, pdq, quality, width, \
            height, format; with --dihedral also "dihedral", the PDQ hashes of the 8 rotations and \
            flips by name (orig, rot90, rot180, rot270, flipx, flipy, flipplus1, flipminus1).

            A PDQ quality under 50 means the image has too little detail for its hash to mean much \
            (blank or near-uniform images); the hash is reported anyway.

            A video (MP4/MOV, MKV/WebM, AVI, MPEG-TS, FLV, GIF: told by its bytes) gets its digests \
            and Meta's vPDQ: the PDQ hash of one frame every --seconds-per-hash seconds (default 1; \
            0 for every frame), as Meta's vpdq computes it. JSON Lines: "media": "video", format, \
            width, height, frame_rate, duration, frames_decoded and "frames", a list of frame, \
            quality, pdq, timestamp. TSV: one row a hashed frame, with its frame and timestamp.

            A file that cannot be read or decoded gets a record with "error" and "error_code" (and \
            its digests, when its bytes could be read), and the run goes on. Exit status: 0 when \
            every file was fingerprinted, 2 when any failed.

            Examples:
              hashdb hash photo.jpg
              hashdb hash --format tsv --jobs 4 uploads/
              find incoming -name '*.jpg' | hashdb hash -
            """)

    @Option(help: "Record format: jsonl (one JSON object per line) or tsv (a header row, then tab-separated rows).")
    var format: RecordFormat = .jsonl

    @OptionGroup var jobs: JobsOption

    @Flag(help: "Also output the PDQ hashes of the 8 rotations and flips of each image.")
    var dihedral = false

    @Flag(help: """
        Decode JPEGs at reduced size (libjpeg DCT scaling, at least 128 pixels a side): several \
        times faster, but PDQ hashes differ from the reference's by a few bits.
        """)
    var fast = false

    @OptionGroup var limitOptions: LimitOptions
    @OptionGroup(title: "Videos") var videoOptions: VideoOptions

    @Option(help: ArgumentHelp(
        "Also compute each video's TMK+PDQF (Meta's TMK, through the ffmpeg program) and write it to this folder as NAME.tmk; the record names the file and carries the features (base64 of the .tmk bytes).",
        valueName: "dir"))
    var tmk: String?

    @Option(help: ArgumentHelp("The ffmpeg program TMK takes its frames from.", valueName: "path"))
    var ffmpeg: String = TMKFrameSource.defaultProgram

    @Flag(help: "Print a summary to standard error at the end: files, failures, seconds, files per second.")
    var stats = false

    @Argument(help: ArgumentHelp(
        "Files and directories (walked recursively); - reads paths from standard input, one per line.",
        valueName: "path"))
    var paths: [String] = []

    func validate() throws {
        guard !paths.isEmpty else {
            throw ValidationError("name at least one file or directory, or - to read paths from standard input")
        }
    }

    func run() throws {
        let output = StandardOutput()
        let progress = ProgressLine()
        let decoder = ImageDecoder(limits: limitOptions.limits, scaling: fast ? .fast : .exact)
        let dihedral = self.dihedral
        let format = self.format
        let videoOptions = self.videoOptions
        let maxPixels = limitOptions.maxPixels
        if format == .tsv {
            output.writeLine(FingerprintRecord.tsvHeader(dihedral: dihedral).joined(separator: "\t"))
        }
        let tmkDirectory = tmk
        let tmkSource = tmk.map { _ in TMKFrameSource(program: ffmpeg, limits: videoOptions.hasher(maxPixels: maxPixels).limits) }
        var tmkFiles = TMKFileNames()
        if let tmkDirectory {
            try FileManager.default.createDirectory(atPath: tmkDirectory, withIntermediateDirectories: true)
        }
        var files = 0
        var failures = 0
        OrderedParallelMap<String, Result<Fingerprint, FileReadError>>(jobs: jobs.count).run(
            PathWalker(arguments: paths),
            makeWorker: {
                Fingerprinter(decoder: decoder, dihedral: dihedral, videoHasher: videoOptions.hasher(maxPixels: maxPixels),
                              tmkSource: tmkSource)
            },
            transform: { fingerprinter, path in
                Result { () throws(FileReadError) in try fingerprinter.fingerprint(path: path) }
            },
            emit: { path, outcome in
                files += 1
                var record = HashRecord(path: path, outcome: outcome)
                if let tmkDirectory, case .success(let fingerprint) = outcome, case .success(let features)? = fingerprint.tmk {
                    do {
                        record.tmkFile = try tmkFiles.write(features, for: path, into: tmkDirectory)
                    } catch {
                        record.tmkWriteError = "\(error)"
                    }
                }
                if !record.succeeded {
                    failures += 1
                }
                output.writeLine(format == .jsonl ? record.json() : record.tsv(dihedral: dihedral))
                progress.update("hashed \(files) files, \(failures) failed, \(Int(Double(files) / max(progress.elapsedSeconds, 0.001))) files/s")
            })
        output.flush()
        progress.finish()
        if stats {
            let seconds = progress.elapsedSeconds
            StandardError.line("files=\(files) failed=\(failures) seconds=\(String(format: "%.3f", seconds)) files_per_second=\(String(format: "%.2f", Double(files) / max(seconds, 1e-9)))")
        }
        if failures > 0 {
            StandardError.line("hashdb hash: \(failures) of \(files) files could not be fingerprinted")
            throw ExitCode(2)
        }
    }
}

/// `.tmk` files named after their videos (NAME.tmk, NAME-2.tmk for a second video of that name).
struct TMKFileNames {
    private var used = Set<String>()

    mutating func write(_ features: TMKFeatures, for path: String, into directory: String) throws -> String {
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        var candidate = name
        var number = 1
        while used.contains(candidate) {
            number += 1
            candidate = "\(name)-\(number)"
        }
        used.insert(candidate)
        let file = (directory as NSString).appendingPathComponent(candidate + ".tmk")
        let staging = file + ".part"
        try Data(TMKFile.bytes(of: features)).write(to: URL(fileURLWithPath: staging))
        try SystemCall.rename(staging, over: file)
        return file
    }
}

/// One file's line of `hashdb hash` output.
struct HashRecord {
    let path: String
    let outcome: Result<Fingerprint, FileReadError>
    /// The `.tmk` written for it (`--tmk`), or why it could not be.
    var tmkFile: String?
    var tmkWriteError: String?

    init(path: String, outcome: Result<Fingerprint, FileReadError>) {
        self.path = path
        self.outcome = outcome
    }

    var succeeded: Bool {
        guard case .success(let fingerprint) = outcome else { return false }
        if case .failure? = fingerprint.tmk { return false }
        return fingerprint.isPerceptuallyHashed && tmkWriteError == nil
    }

    func json() -> String {
        var json = JSONWriter()
        json.beginObject()
        json.member("path", path)
        switch outcome {
        case .success(let fingerprint):
            FingerprintRecord.writeJSONFields(of: fingerprint, into: &json)
            switch fingerprint.tmk {
            case .success(let features)?:
                json.key("tmk")
                json.beginObject()
                if let tmkFile { json.member("file", tmkFile) }
                json.member("frames", Int(features.frameCount))
                // The features themselves, so that the record is a list entry on its own: the
                // .tmk file's bytes in base64 (float32 as they are, a third over their size).
                json.member("features", Data(TMKFile.bytes(of: features)).base64EncodedString())
                if let tmkWriteError { json.member("error", tmkWriteError) }
                json.endObject()
            case .failure(let error)?:
                json.key("tmk")
                json.beginObject()
                json.member("error", error.description)
                json.member("error_code", error.code)
                json.endObject()
            case nil:
                break
            }
        case .failure(let error):
            FingerprintRecord.writeJSONError(error.description, code: error.code, into: &json)
        }
        json.endObject()
        return json.output
    }

    func tsv(dihedral: Bool) -> String {
        let fields: [String]
        switch outcome {
        case .success(let fingerprint) where fingerprint.video != nil:
            return FingerprintRecord.tsvRows(path: path, fingerprint: fingerprint, video: fingerprint.video!, dihedral: dihedral)
                .map { $0.joined(separator: "\t") }.joined(separator: "\n")
        case .success(let fingerprint):
            let error: String?
            if case .failure(let decodeError) = fingerprint.image {
                error = decodeError.description
            } else {
                error = nil
            }
            fields = FingerprintRecord.tsvRow(path: path, fingerprint: fingerprint, error: error, dihedral: dihedral)
        case .failure(let readError):
            fields = FingerprintRecord.tsvRow(path: path, fingerprint: nil, error: readError.description, dihedral: dihedral)
        }
        return fields.joined(separator: "\t")
    }
}
