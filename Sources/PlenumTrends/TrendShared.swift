import Logging
import PlenumCore
import Synchronization

/// What the service, the writer thread and the query thread share. Everything here is
/// `Sendable`; the database connections are not, and each lives on its own thread.
final class TrendShared: Sendable {
    static let statusChannel = try! ChannelPath("/plenum/trends/status")

    let configuration: TrendStoreConfiguration
    let channelStore: ChannelStore
    let buffer: TrendBuffer
    let feed: ChangeFeed
    let signal: WorkerSignal
    let logger: Logger
    let metrics: TrendMetrics
    private let statusBox: Mutex<(status: TrendStatus, published: JSONValue?, publishing: Bool)>
    private let finished = Atomic<Bool>(false)

    init(
        configuration: TrendStoreConfiguration,
        channelStore: ChannelStore,
        status: TrendStatus,
        firstGeneration: Int64,
        logger: Logger,
        metrics: TrendMetrics
    ) {
        self.configuration = configuration
        self.channelStore = channelStore
        self.logger = logger
        self.metrics = metrics
        buffer = TrendBuffer(configuration: configuration, firstGeneration: firstGeneration)
        let signal = WorkerSignal()
        self.signal = signal
        // Every numeric channel is a candidate; the writer skips the rest when it drains.
        feed = channelStore.makeFeed(everyVersion: true) { signal.poke() }
        statusBox = Mutex((status, nil, true))
        metrics.up.record(status.state == .failed ? 0 : 1)
    }

    var status: TrendStatus { statusBox.withLock { $0.status } }

    /// Changes the status; publishes `/plenum/trends/status` when its value changed (until
    /// `stopPublishing`), and keeps `plenum_trends_up` in step.
    func update(_ change: (inout TrendStatus) -> Void) {
        let value = statusBox.withLock { box -> JSONValue? in
            change(&box.status)
            let value = box.status.channelValue
            guard box.publishing, value != box.published else { return nil }
            box.published = value
            return value
        }
        metrics.up.record(status.state == .failed ? 0 : 1)
        if let value { channelStore.publish(Self.statusChannel, value) }
    }

    /// From here on the status channel is left alone: the channel store is being saved.
    func stopPublishing() { statusBox.withLock { $0.publishing = false } }

    func writerFinished() { finished.store(true, ordering: .releasing) }
    var isWriterFinished: Bool { finished.load(ordering: .acquiring) }
}
