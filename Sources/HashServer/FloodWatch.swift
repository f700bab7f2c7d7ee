import Foundation
import HashCore
import Logging
import Synchronization

/// `hashdb serve --flood RATE/WINDOW --flood-action review|suppress`: one wrongly listed hash
/// (a theme's default image, a blank frame) can match thousands of uploads an hour and flood a
/// provider's review queue. An entry matched more than RATE times within WINDOW is *flooded*:
/// from then on its matches are marked `"review": true` (or left out of answers), it is logged
/// once, counted in /metrics and listed at /v1/floods, until a database without it serves
/// (`hashdb merge --remove` of it, swapped in).
public struct FloodPolicy: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable {
        /// Matches are still answered, marked `"review": true`.
        case review
        /// Matches are left out of answers (as if the entry were not listed).
        case suppress
    }

    /// More matches than this within `window` floods the entry.
    public var matches: Int
    public var window: Duration
    public var action: Action

    public init(matches: Int, window: Duration, action: Action = .review) {
        self.matches = matches
        self.window = window
        self.action = action
    }

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// "RATE/WINDOW": a count, and a window in seconds with an optional unit (s, m, h): 500/1h, 50/60s, 20/30.
    public init(parsing text: String, action: Action = .review) throws(ParseError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let matches = Int(parts[0]), matches > 0 else {
            throw ParseError(description: "'\(text)' is not RATE/WINDOW (a count above 0, then a window such as 60s, 10m or 1h)")
        }
        var window = Substring(parts[1])
        var unit = 1
        if let last = window.last, let scale = ["s": 1, "m": 60, "h": 3600][String(last)] {
            unit = scale
            window = window.dropLast()
        }
        guard let count = Int(window), count > 0, count <= 7 * 24 * 3600 / unit else {
            throw ParseError(description: "'\(parts[1])' is not a window from 1s to 168h")
        }
        self.init(matches: matches, window: .seconds(count * unit), action: action)
    }
}

/// Per-entry match counts over a sliding window (the current window's count plus the previous
/// window's, weighted by how much of it still overlaps), for the entries that matched lately.
/// Bounded: at most `maxTracked` entries are counted; past that, entries quiet for two windows
/// are forgotten, and a new one is counted only when there is room (flooded entries are never
/// forgotten while they are listed).
final class FloodWatch: Sendable {
    struct Tally {
        var windowStart: ContinuousClock.Instant
        var current = 0
        var previous = 0
        var total = 0
        var floodedAt: Date?

        /// The matches of the last window's length, estimated.
        func rate(at now: ContinuousClock.Instant, window: Duration) -> Double {
            let into = (now - windowStart) / window
            return Double(current) + Double(previous) * max(0, 1 - into)
        }
    }

    struct Flood: Equatable {
        var id: String
        var floodedAt: Date
        var total: Int
        var recentRate: Double
    }

    let policy: FloodPolicy
    let maxTracked: Int
    private let metrics: ServiceMetrics
    private let logger: Logger
    private struct State {
        var tallies: [String: Tally] = [:]
        /// The database the flooded entries were last checked against.
        var checkedAgainst: Bytes32?
        /// When the full table was last swept for quiet entries: at most once a second, so that
        /// a stream of new matching entries against a full table costs no sweep a request.
        var lastSweep: ContinuousClock.Instant?
    }
    private let state = Mutex(State())

    init(policy: FloodPolicy, metrics: ServiceMetrics, logger: Logger, maxTracked: Int = 100_000) {
        self.policy = policy
        self.metrics = metrics
        self.logger = logger
        self.maxTracked = maxTracked
    }

    /// Counts `result`'s matches and marks or removes those of flooded entries.
    func apply(to result: inout MatchResult, database: HashDatabase, now: ContinuousClock.Instant = .now) {
        guard !result.matches.isEmpty else { return }
        forgetEntriesNoLongerIn(database)
        var newlyFlooded: [(String, Int)] = []
        var kept: [Match] = []
        state.withLock { state in
            for var match in result.matches {
                let id = match.entry.id
                guard var tally = state.tallies[id] ?? makeRoom(&state, now: now) else {
                    kept.append(match)
                    continue
                }
                roll(&tally, to: now)
                tally.current += 1
                tally.total += 1
                if tally.floodedAt == nil, tally.rate(at: now, window: policy.window) > Double(policy.matches) {
                    tally.floodedAt = Date()
                    newlyFlooded.append((id, tally.total))
                }
                state.tallies[id] = tally
                guard tally.floodedAt != nil else {
                    kept.append(match)
                    continue
                }
                if policy.action == .review {
                    match.review = true
                    kept.append(match)
                }
            }
        }
        let flagged = result.matches.count - kept.count + kept.filter(\.review).count
        if flagged > 0 { metrics.floodMatches(flagged, action: policy.action) }
        result.matches = kept
        for (id, total) in newlyFlooded {
            metrics.entryFlooded()
            logger.warning("entry flooded: its matches are now \(policy.action == .review ? "marked for review" : "suppressed")", metadata: [
                "entry": .string(id), "matches": .stringConvertible(total),
                "threshold": .string("\(policy.matches)/\(policy.window)"),
            ])
        }
    }

    /// The flooded entries, most matched first.
    func floods(database: HashDatabase, now: ContinuousClock.Instant = .now) -> [Flood] {
        forgetEntriesNoLongerIn(database)
        return state.withLock { state in
            state.tallies.compactMap { id, tally in
                tally.floodedAt.map { Flood(id: id, floodedAt: $0, total: tally.total, recentRate: tally.rate(at: now, window: policy.window)) }
            }
        }.sorted { ($0.total, $1.id) > ($1.total, $0.id) }
    }

    /// A database swapped in without a flooded entry (removed as a false positive) ends its flood;
    /// an entry added back later starts with no history.
    private func forgetEntriesNoLongerIn(_ database: HashDatabase) {
        let flooded: [String]? = state.withLock { state in
            guard state.checkedAgainst != database.checksum else { return nil }
            state.checkedAgainst = database.checksum
            return state.tallies.filter { $0.value.floodedAt != nil }.map(\.key)
        }
        guard let flooded, !flooded.isEmpty else { return }
        let gone = flooded.filter { id in ((try? database.entries(withID: id)) ?? []).isEmpty }
        guard !gone.isEmpty else { return }
        state.withLock { state in
            for id in gone { state.tallies[id] = nil }
        }
        logger.notice("flood ended: the entries are no longer in the database", metadata: ["entries": .string(gone.joined(separator: ","))])
    }

    private func roll(_ tally: inout Tally, to now: ContinuousClock.Instant) {
        let elapsed = now - tally.windowStart
        guard elapsed >= policy.window else { return }
        tally.previous = elapsed >= policy.window * 2 ? 0 : tally.current
        tally.current = 0
        tally.windowStart = elapsed >= policy.window * 2 ? now : tally.windowStart + policy.window
    }

    /// A new tally, when there is room for one (after forgetting quiet entries, at most once a second).
    private func makeRoom(_ state: inout State, now: ContinuousClock.Instant) -> Tally? {
        if state.tallies.count >= maxTracked, state.lastSweep.map({ now - $0 >= .seconds(1) }) ?? true {
            state.lastSweep = now
            state.tallies = state.tallies.filter { $0.value.floodedAt != nil || now - $0.value.windowStart < policy.window * 2 }
        }
        return state.tallies.count < maxTracked ? Tally(windowStart: now) : nil
    }
}
