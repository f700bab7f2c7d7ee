/// Keeps the resident memory of long passes over mapped databases bounded: after every
/// `interval` records read, counted across all the databases together, each lets go of the
/// pages read so far (`HashDatabase.releasePages`). Counting per database instead would let
/// each of k inputs keep its own window of pages: k times the memory (a ten-input merge held
/// 1.4 GB of input pages that way).
struct PageReleaser {
    /// Records read between releases: a pass over digest indexes reads 36 to 40 bytes a key,
    /// so about 40 MB of pages are resident at most, however many databases there are.
    static let interval = 1 << 20

    private let databases: [HashDatabase]
    private var sinceRelease = 0

    init(_ databases: [HashDatabase]) {
        self.databases = databases
    }

    /// Counts one record read, and releases when `interval` have been read since the last time.
    @inline(__always)
    mutating func didRead() {
        sinceRelease += 1
        if sinceRelease >= Self.interval { releaseNow() }
    }

    mutating func releaseNow() {
        for database in databases { database.releasePages() }
        sinceRelease = 0
    }
}
