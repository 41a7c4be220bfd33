public import CoreMetrics
public import Logging
public import PlenumCore
public import ServiceLifecycle

/// Trends that survive restarts: per-minute aggregates of every numeric channel, raw samples
/// for chosen prefixes, and the channel store saved at a clean stop — in one SQLite file.
///
/// Two steps, because the channel store is built from what the database saved:
///
/// ```swift
/// let opening = TrendStore.open(configuration, logger: logger)
/// let store = ChannelStore(epoch: opening.saved?.epoch, …, restoring: opening.saved?.channels ?? [])
/// let trends = TrendStore(opening, store: store, logger: logger, metrics: factory)
/// // run `trends` in the ServiceGroup *before* the services that publish, so it stops after them
/// ```
///
/// Writes never touch the publish path: the store owns a change feed of `store`, drained by its
/// writer thread; history queries run on a query thread with their own connection. A database
/// that cannot be opened or written leaves the store `failed` — reported on
/// `/plenum/trends/status`, `/readyz` and `/metrics`, and logged — and the hub runs on.
///
/// SQLite is used directly through the system library (`CSQLite`, imported by this module
/// only) rather than through GRDB or SQLite.swift, which pull full Foundation and ICU into a
/// binary that otherwise links FoundationEssentials only.
public final class TrendStore: Service, HistorySource, Sendable {
    /// What opening the database found.
    public struct Opening: Sendable {
        public let configuration: TrendStoreConfiguration
        /// What the last clean stop saved: continue with this epoch and these channels. Nil after a
        /// crash (the hub must take a new epoch), on a new database, or when the database failed.
        public let saved: SavedState?
        /// Why the database cannot be used (the store then runs `failed`).
        public let failure: String?
        let generation: Int64
    }

    public struct SavedState: Sendable, Equatable {
        public let epoch: String
        public let channels: [ChannelRecord]
    }

    private let shared: TrendShared
    private let queries: TrendQueries
    private let failedAtOpen: Bool

    /// Opens (or creates) the database, takes what a clean stop saved, and marks the database as
    /// in use, durably, so that a crash from now on is never taken for a clean stop.
    public static func open(_ configuration: TrendStoreConfiguration, logger: Logger) -> Opening {
        do {
            let database = try TrendDatabase(path: configuration.path)
            let saved = try database.takeSavedState()
            let generation = try database.writtenGeneration()
            if let saved {
                logger.info(
                    "continuing epoch \(saved.epoch) with \(saved.channels.count) channels saved at the last clean stop",
                    metadata: ["trends.path": "\(configuration.path)"]
                )
            } else {
                logger.info(
                    "no clean stop recorded (first start or a crash): a new epoch begins",
                    metadata: ["trends.path": "\(configuration.path)"]
                )
            }
            return Opening(
                configuration: configuration,
                saved: saved.map { SavedState(epoch: $0.epoch, channels: $0.channels) },
                failure: nil,
                generation: generation
            )
        } catch {
            logger.error(
                "trend store cannot open its database: \(error); the hub runs without trends and starts a new epoch",
                metadata: ["trends.path": "\(configuration.path)"]
            )
            return Opening(configuration: configuration, saved: nil, failure: "\(error)", generation: 0)
        }
    }

    public init(_ opening: Opening, store: ChannelStore, logger: Logger, metrics: any MetricsFactory) {
        let path = opening.configuration.path
        let status =
            opening.failure.map { TrendStatus(state: .failed, path: path, error: $0) }
            ?? TrendStatus(state: .starting, path: path)
        shared = TrendShared(
            configuration: opening.configuration,
            channelStore: store,
            status: status,
            firstGeneration: opening.generation + 1,
            logger: logger,
            metrics: TrendMetrics(factory: metrics)
        )
        queries = TrendQueries(shared: shared)
        failedAtOpen = opening.failure != nil
        if failedAtOpen { store.removeFeed(shared.feed) }
    }

    /// Now: state, error and counters.
    public var status: TrendStatus { shared.status }

    /// Starts the writer and query threads and runs until graceful shutdown; then writes every
    /// minute held, saves the channel store and marks the stop clean (waiting at most
    /// `stopTimeoutSeconds` for the disk).
    public func run() async {
        shared.update { _ in }  // publishes the first status
        if failedAtOpen {
            try? await gracefulShutdown()
            queries.stop()
            return
        }
        let shared = self.shared
        let queries = self.queries
        do {
            _ = try NamedThread(name: "plenum-trends") { TrendWriter(shared: shared).run() }
        } catch {
            // Reported like a database failure; the hub runs on (a service that returned early
            // would stop the whole group).
            shared.update { status in
                status.state = .failed
                status.error = "\(error)"
            }
            shared.channelStore.removeFeed(shared.feed)
            shared.logger.error("trend store cannot start its writer: \(error); the hub runs without trends")
            try? await gracefulShutdown()
            queries.stop()
            return
        }
        do {
            _ = try NamedThread(name: "plenum-history") { queries.run() }
        } catch {
            shared.logger.error("trend store cannot start its query thread: \(error); history queries fail")
            queries.stop()
        }
        try? await gracefulShutdown()
        queries.stop()
        shared.signal.requestStop()
        let deadline = (try? Deadline(seconds: Self.stopTimeoutSeconds)) ?? .now()
        while !shared.isWriterFinished && !deadline.hasPassed {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if !shared.isWriterFinished {
            shared.logger.error(
                "trend store did not finish writing within \(Int(Self.stopTimeoutSeconds)) s; the next start takes a new epoch"
            )
        }
    }

    /// How long a stop waits for the last writes and the saved channels.
    public static let stopTimeoutSeconds: Double = 10

    public func history(_ query: HistoryQuery, reply: @escaping @Sendable (Result<HistoryResult, HistoryError>) -> Void)
    {
        if failedAtOpen {
            reply(
                .failure(
                    HistoryError(.unavailable, "the trend store failed: \(shared.status.error ?? "unknown error")")
                )
            )
            return
        }
        queries.submit(query, reply: reply)
    }
}
