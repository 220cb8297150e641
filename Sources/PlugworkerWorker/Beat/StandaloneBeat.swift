#if canImport(Glibc)
import Glibc
#endif
import CPlugworkerSystem
import Logging
import PlugworkerBeat
import PlugworkerBroker

/// `plugworker beat`: beat in a process of its own, with its own Hub and
/// broker connection. TERM, INT and QUIT stop it (the state is written);
/// HUP, or a change of the config file, reloads the schedule.
public final class StandaloneBeat {
    public enum ExitStatus {
        public static let ok: Int32 = 0
        /// Another beat holds the schedule's lock, or the Hub could not start.
        public static let cannotStart: Int32 = 75
    }

    let service: BeatService
    let sender: BrokerTaskSender
    let hub: Hub
    let logger: Logger
    let watcher: ConfigFileWatcher?
    private var signalFD: Int32 = -1

    public init(config: BeatConfig, brokerURL: BrokerURL, origin: String, logger: Logger) throws(SystemCallError) {
        self.logger = logger
        hub = try Hub(logger: logger)
        let sender = BrokerTaskSender(url: brokerURL, logger: logger)
        self.sender = sender
        service = BeatService(config: config, hub: hub, logger: logger, origin: origin) { message, queue in
            sender.send(message, queue: queue)
        }
        watcher = config.path.flatMap { ConfigFileWatcher(path: $0) }
    }

    /// Runs until a stop signal; returns the exit status.
    public func run() -> Int32 {
        do {
            try service.start()
        } catch {
            logger.critical("beat: \(error)")
            return ExitStatus.cannotStart
        }
        let signals: [Int32] = [SIGTERM, SIGINT, SIGQUIT, SIGHUP]
        signalFD = signals.withUnsafeBufferPointer { pws_signalfd_create($0.baseAddress, Int32($0.count)) }
        do {
            if signalFD < 0 { throw SystemCallError(call: "signalfd") }
            try hub.add(signalFD) { [unowned self] _ in
                while case let signo = pws_signalfd_read(self.signalFD), signo != 0 {
                    if signo == SIGHUP {
                        self.logger.info("beat: HUP: reloading the schedule")
                        self.service.reload()
                    } else {
                        self.logger.info("beat: Shutting down (signal \(signo))")
                        self.hub.stop()
                    }
                }
            }
            if let watcher {
                var pending: Timer.Entry?
                try hub.add(watcher.fd) { [unowned self] _ in
                    guard watcher.changed() else { return }
                    // Editors write in several steps: reload once they are done.
                    pending?.cancel()
                    pending = self.hub.timer.call(after: 0.2) { [unowned self] in
                        self.logger.info("beat: \(watcher.path) changed: reloading the schedule")
                        self.service.reload()
                    }
                }
            }
        } catch {
            logger.critical("beat: cannot start: \(error)")
            service.stop()
            return ExitStatus.cannotStart
        }
        hub.run()
        service.stop()
        sender.close()
        return ExitStatus.ok
    }
}
