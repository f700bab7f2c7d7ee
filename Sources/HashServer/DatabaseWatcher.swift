import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the database on SIGHUP and when the file at its path is replaced (checked every
/// `pollInterval`): polling a stat is cheap, works on every file system and cannot miss a
/// rename the way a lost inotify event can.
///
/// Requests to reload that arrive while one runs collapse into one more reload after it, so a
/// burst of signals or renames costs at most two verifications, and shutdown waits for at most
/// the one in progress.
struct DatabaseWatcher: Service {
    let store: DatabaseStore
    let pollInterval: Duration?
    let reloadOnSIGHUP: Bool
    let metrics: ServiceMetrics
    let logger: Logger

    func run() async throws {
        let (requests, requester) = AsyncStream.makeStream(of: Reason.self, bufferingPolicy: .bufferingNewest(1))
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if reloadOnSIGHUP {
                    group.addTask {
                        for await _ in await UnixSignalsSequence(trapping: .sighup) {
                            requester.yield(.signal)
                        }
                    }
                }
                if let pollInterval {
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: pollInterval)
                            if !Task.isCancelled && store.fileWasReplaced() {
                                requester.yield(.replaced)
                            }
                        }
                    }
                }
                group.addTask {
                    for await reason in requests {
                        if Task.isCancelled { break }
                        // A replacement seen again while it was being loaded needs no second load.
                        if reason == .replaced && !store.fileWasReplaced() { continue }
                        await reload(reason: reason)
                    }
                }
                await group.waitForAll()
            }
        }
        requester.finish()
    }

    enum Reason: String, Sendable {
        case signal = "SIGHUP"
        case replaced = "the file was replaced"
    }

    func reload(reason: Reason) async {
        logger.info("reloading the database", metadata: ["path": .string(store.path), "reason": .string(reason.rawValue)])
        let attempt = await HashingPool.runOnOwnThread { [store] in store.reload() }
        metrics.reload(attempt)
        if let error = attempt.error {
            logger.error("refused the new database; the old one keeps serving", metadata: ["error": .string(error)])
        } else {
            metrics.databaseLoaded(store.current)
            logger.info("serving the new database", metadata: ["checksum": .string(attempt.checksum ?? "")])
        }
    }
}
