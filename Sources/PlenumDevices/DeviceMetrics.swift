import CoreMetrics

/// What one device reports on `/metrics`, each with the dimension `device="<name>"`.
struct DeviceMetrics: Sendable {
    let publishes: Counter
    let errors: Counter
    let restarts: Counter
    let cpuGuardTrips: Counter
    let memoryBytes: Gauge
    /// 1 while a thread of this device is stuck in code the CPU guard cannot interrupt (a long C
    /// function), including a thread abandoned by a stop or reload; 0 otherwise.
    let stuck: Gauge

    init(device: String, factory: any MetricsFactory) {
        let dimensions = [("device", device)]
        publishes = Counter(label: "plenum_device_publishes_total", dimensions: dimensions, factory: factory)
        errors = Counter(label: "plenum_device_errors_total", dimensions: dimensions, factory: factory)
        restarts = Counter(label: "plenum_device_restarts_total", dimensions: dimensions, factory: factory)
        cpuGuardTrips = Counter(label: "plenum_device_cpu_guard_trips_total", dimensions: dimensions, factory: factory)
        memoryBytes = Gauge(label: "plenum_device_memory_bytes", dimensions: dimensions, factory: factory)
        stuck = Gauge(label: "plenum_device_stuck", dimensions: dimensions, factory: factory)
    }
}
