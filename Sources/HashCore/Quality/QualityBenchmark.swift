import Foundation

/// `hashdb bench-quality`: what a PDQ threshold buys, on images like the user's. Builds a database
/// from part of a folder of originals, makes every variant of every original, queries them all
/// and the held-out originals through the database, and counts per variant kind and threshold
/// (0...64): recall (a variant of a listed original matches it) and false positives (a query
/// matches an original it does not come from).
public struct QualityBenchmark {
    public struct Options: Sendable {
        /// Every n-th original (by sorted path) goes into the database; the rest are held out.
        public var heldOutEvery = 2
        public var fast = false
        public var variants = Variant.allCases
        public var maxThreshold = 64
        /// 0 shows raw distances; 50 applies the rule hashdb query and serve apply by default
        /// (hashes of lower quality, on either side, are not near-matched).
        public var minQuality = 0
        public init() {}
    }

    /// One query's outcome: its distance to its own original (nil when that original is not
    /// listed, or the query is not an image) and to the nearest other listed original, plain
    /// and with the 8 dihedral variants.
    public struct Outcome: Sendable {
        public let original: String
        public let variant: Variant?
        public let quality: Int?
        public var own: Int?
        public var ownDihedral: Int?
        public var nearestOther: Int?
        public var nearestOtherDihedral: Int?
        public var failed: String?
    }

    public let options: Options
    public init(options: Options) { self.options = options }

    /// Runs the benchmark on the image files under `originals`, with `workDirectory` for the database.
    public func run(originals paths: [String], workDirectory: String) throws -> QualityReport {
        let fingerprinter = Fingerprinter(decoder: ImageDecoder(scaling: options.fast ? .fast : .exact), dihedral: true)
        let exactDecoder = ImageDecoder()
        var listed: [String] = []
        var sources: [(path: String, bytes: [UInt8], image: DecodedImage, fingerprint: Fingerprint)] = []
        for path in paths.sorted() {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let bytes = [UInt8](data)
            guard let image = try? exactDecoder.decode(bytes) else { continue }
            sources.append((path, bytes, image, fingerprinter.fingerprint(bytes: bytes)))
        }
        guard sources.count >= 2 else {
            throw InputError(file: paths.first ?? "", reason: "needs at least two decodable originals, found \(sources.count)")
        }
        // The database: every heldOutEvery-th original is held out, the rest listed by PDQ.
        let databasePath = workDirectory + "/bench-quality.hdb"
        let builder = try DatabaseBuilder(destination: databasePath, options: .init(memoryBudget: 64 << 20))
        for (index, source) in sources.enumerated() where index % options.heldOutEvery != options.heldOutEvery - 1 {
            guard let pdq = source.fingerprint.imageFingerprint?.pdq else { continue }
            try builder.add(ListRow(id: source.path, pdq: pdq.hash, quality: pdq.quality))
            listed.append(source.path)
        }
        _ = try builder.write()
        let database = try HashDatabase.open(path: databasePath)
        let listedSet = Set(listed)

        var outcomes: [Outcome] = []
        for source in sources {
            if !listedSet.contains(source.path) {
                outcomes.append(try measure(source.fingerprint, original: source.path, variant: nil, database: database, listed: listedSet))
            }
            for variant in options.variants {
                let bytes: [UInt8]
                do {
                    bytes = try variant.apply(to: source.image.image, source: source.bytes, sourceFormat: source.image.format)
                } catch {
                    outcomes.append(Outcome(original: source.path, variant: variant, quality: nil, failed: "\(error)"))
                    continue
                }
                outcomes.append(try measure(fingerprinter.fingerprint(bytes: bytes), original: source.path, variant: variant,
                                            database: database, listed: listedSet))
            }
        }
        return QualityReport(outcomes: outcomes, listedOriginals: listed.count, heldOutOriginals: sources.count - listed.count,
                             maxThreshold: options.maxThreshold, variants: options.variants, fast: options.fast, minQuality: options.minQuality)
    }

    /// The query's near hits within `maxThreshold`, through the database's own matching (the
    /// index answers up to 31; beyond, a scan), split into its own original and the others.
    func measure(_ fingerprint: Fingerprint, original: String, variant: Variant?, database: HashDatabase, listed: Set<String>) throws -> Outcome {
        guard let image = fingerprint.imageFingerprint else {
            var outcome = Outcome(original: original, variant: variant, quality: nil)
            if case .failure(let error) = fingerprint.image { outcome.failed = error.description }
            return outcome
        }
        var outcome = Outcome(original: original, variant: variant, quality: image.pdq.quality)
        if image.pdq.quality < options.minQuality {
            if listed.contains(original) {
                outcome.own = Int.max
                outcome.ownDihedral = Int.max
            }
            return outcome
        }
        let plain = [(image.pdq.hash, DihedralTransform.original)]
        let all = DihedralTransform.allCases.map { (image.pdq.dihedral[$0.rawValue], $0) }
        for (variants, dihedral) in [(plain, false), (all, true)] {
            for hit in database.nearHits(variants, threshold: options.maxThreshold, minQuality: options.minQuality) {
                // Originals with equal hashes share an entry: any of its ids may be the query's own.
                let ids = try database.entry(hit.entry).ids
                if ids.contains(original) {
                    if dihedral { outcome.ownDihedral = hit.distance } else { outcome.own = hit.distance }
                }
                if ids.contains(where: { $0 != original }), dihedral {
                    outcome.nearestOtherDihedral = min(outcome.nearestOtherDihedral ?? .max, hit.distance)
                } else if ids.contains(where: { $0 != original }) {
                    outcome.nearestOther = min(outcome.nearestOther ?? .max, hit.distance)
                }
            }
        }
        if listed.contains(original) {
            // Listed but farther than maxThreshold: recall counts it as a miss at every threshold.
            outcome.own = outcome.own ?? Int.max
            outcome.ownDihedral = outcome.ownDihedral ?? Int.max
        }
        return outcome
    }
}
