import Foundation
import HashCore

/// Reports the stages of a long job: with --verbose, each stage's time on standard error; on
/// a terminal, the stage under way on the progress line.
final class StageReporter {
    private let command: String
    private let verbose: Bool
    let progress: ProgressLine?
    private let start = ContinuousClock.now
    private var stageStart = ContinuousClock.now
    private var stageName: String

    init(command: String, verbose: Bool, progress: ProgressLine?, firstStage: String) {
        self.command = command
        self.verbose = verbose
        self.progress = progress
        stageName = firstStage
    }

    func stage(_ name: String) {
        if verbose {
            progress?.finish()
            StandardError.line("\(command): \(stageName): \(formatSeconds(ContinuousClock.now - stageStart))")
        }
        stageStart = ContinuousClock.now
        stageName = name
        progress?.update("\(name)…", force: true)
    }

    /// A report from a build or merge: a new stage, or how far the current one is.
    func report(_ report: BuildProgress) {
        if report.stage != stageName { stage(report.stage) }
        guard let total = report.total, total > 0, report.done > 0 else { return }
        progress?.update(Self.bar(report.stage, done: report.done, total: total))
    }

    /// "writing entries [#########.........]  47%"
    static func bar(_ label: String, done: Int, total: Int) -> String {
        let fraction = min(1, Double(done) / Double(total))
        let width = 30
        let filled = Int(fraction * Double(width))
        return "\(label) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            + String(format: "%3.0f%%", fraction * 100)
    }

    func finish() {
        if verbose {
            progress?.finish()
            StandardError.line("\(command): \(stageName): \(formatSeconds(ContinuousClock.now - stageStart))")
        }
        progress?.finish()
    }

    var elapsed: String { formatSeconds(ContinuousClock.now - start) }
}

func formatSeconds(_ duration: Duration) -> String {
    String(format: "%.1f s", duration.seconds)
}
