import Foundation
import HashCore
import Metrics
import Prometheus
import Synchronization

/// What /metrics exposes. Recorded through swift-metrics into this service's own Prometheus
/// registry (not the process-wide one, so that several apps in one test process stay apart).
final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let topEntries = TopHits(capacity: 256)
    /// Handles made once per label and dimensions: the registry's lookup costs more than an increment.
    private let counters = HandleCache<Metrics.Counter>()
    private let timers = HandleCache<Metrics.Timer>()

    private func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Metrics.Counter {
        counters.handle(label, dimensions) { Metrics.Counter(label: label, dimensions: dimensions, factory: factory) }
    }

    private func timer(_ label: String, _ dimensions: [(String, String)]) -> Metrics.Timer {
        timers.handle(label, dimensions) { Metrics.Timer(label: label, dimensions: dimensions, factory: factory) }
    }

    init() {
        factory = PrometheusMetricsFactory(registry: registry)
    }

    func request(route: String, status: Int, duration: Duration) {
        counter("hashdb_http_requests_total", [("route", route), ("status", String(status))]).increment()
        timer("hashdb_http_request_duration_seconds", [("route", route)]).record(duration: duration)
    }

    /// One answered check or lookup item: whether it matched, and what.
    func answered(_ result: MatchResult) {
        counter("hashdb_queries_total", [("result", result.matches.isEmpty ? "no_match" : "match")]).increment()
        for match in result.matches {
            for source in match.entry.sources.isEmpty ? [""] : match.entry.sources {
                for category in match.entry.categories.isEmpty ? [""] : match.entry.categories {
                    counter("hashdb_matches_total", [("source", source), ("category", category), ("kind", match.kind.rawValue)]).increment()
                }
            }
            topEntries.record(match.entry.id)
        }
    }

    /// An entry crossed the flood threshold (hashdb serve --flood).
    func entryFlooded() {
        counter("hashdb_flooded_entries_total").increment()
    }

    /// Matches of flooded entries, marked for review or suppressed.
    func floodMatches(_ count: Int, action: FloodPolicy.Action) {
        counter("hashdb_flood_matches_total", [("action", action.rawValue)]).increment(by: count)
    }

    func queryFailed(code: String) {
        counter("hashdb_query_errors_total", [("code", code)]).increment()
    }

    func databaseLoaded(_ loaded: LoadedDatabase) {
        Gauge(label: "hashdb_database_entries", factory: factory).record(loaded.database.entryCount)
        Gauge(label: "hashdb_database_loaded_timestamp_seconds", factory: factory).record(loaded.loadedAt.timeIntervalSince1970)
    }

    func reload(_ attempt: ReloadAttempt) {
        counter("hashdb_reloads_total", [("outcome", attempt.succeeded ? "loaded" : "refused")]).increment()
        Gauge(label: "hashdb_last_reload_failed", factory: factory).record(attempt.succeeded ? 0 : 1)
    }

    /// The registry's text plus the most-hit entries, so that one bad hash flooding a review
    /// queue shows up by name.
    func exposition() -> String {
        var text = registry.emitToString()
        let top = topEntries.top(20)
        text += "# HELP hashdb_entry_hits Matches of the most-matched entries since start (approximate counts beyond the top; space-saving).\n"
        text += "# TYPE hashdb_entry_hits gauge\n"
        for (entry, count) in top {
            text += "hashdb_entry_hits{entry=\"\(Self.escapeLabel(entry))\"} \(count)\n"
        }
        return text
    }

    static func escapeLabel(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

/// The most frequent keys of a stream in bounded memory (Metwally's space-saving algorithm):
/// any key hit more than total/capacity times is certain to be present, with a count that
/// over-states it by at most the count of the key it replaced.
final class TopHits: Sendable {
    private let capacity: Int
    private let counts = Mutex<[String: Int]>([:])

    init(capacity: Int) {
        self.capacity = capacity
    }

    func record(_ key: String) {
        counts.withLock { counts in
            if let count = counts[key] {
                counts[key] = count + 1
            } else if counts.count < capacity {
                counts[key] = 1
            } else if let smallest = counts.min(by: { $0.value < $1.value }) {
                counts[smallest.key] = nil
                counts[key] = smallest.value + 1
            }
        }
    }

    func top(_ limit: Int) -> [(key: String, count: Int)] {
        counts.withLock { counts in
            counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .prefix(limit).map { ($0.key, $0.value) }
        }
    }
}

/// Metric handles by label and dimensions, made on first use.
private final class HandleCache<Handle: Sendable>: Sendable {
    private let handles = Mutex<[String: Handle]>([:])

    func handle(_ label: String, _ dimensions: [(String, String)], make: () -> Handle) -> Handle {
        let key = ([label] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{1}")
        return handles.withLock { cache in
            if let handle = cache[key] { return handle }
            let handle = make()
            cache[key] = handle
            return handle
        }
    }
}
