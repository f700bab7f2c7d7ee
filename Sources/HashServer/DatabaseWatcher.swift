import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the database on SIGHUP and when the file at its path is replaced (checked every
/// `pollInterval`): polling a stat is cheap, works on every file system and cannot miss a
/// rename the way a lost inotify event can.
struct DatabaseWatcher: Service {
    let store: DatabaseStore
    let pollInterval: Duration?
    let reloadOnSIGHUP: Bool
    let metrics: ServiceMetrics
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if reloadOnSIGHUP {
                    group.addTask {
                        for await _ in await UnixSignalsSequence(trapping: .sighup) {
                            await reload(reason: "SIGHUP")
                        }
                    }
                }
                if let pollInterval {
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: pollInterval)
                            if !Task.isCancelled && store.fileWasReplaced() {
                                await reload(reason: "the file was replaced")
                            }
                        }
                    }
                }
            }
        }
    }

    func reload(reason: String) async {
        logger.info("reloading the database", metadata: ["path": .string(store.path), "reason": .string(reason)])
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
