/// The StateDB step (`--statedb FILE`): see `StateDB`.
extension Worker {
    /// Reads the file before the Consumer is created; `createConsumer`
    /// hands its contents to the consumer.
    func createStateDB() {
        guard let path = options.statedb else { return }
        stateDB = StateDB(path: path, logger: logger)
    }

    func startStateDB() {
        stateDB?.start(timer: timer) { [unowned self] in self.consumer }
    }

    /// Runs after the Consumer stopped (steps stop in reverse): the last save.
    func stopStateDB() {
        stateDB?.stop(consumer: consumer)
    }
}
