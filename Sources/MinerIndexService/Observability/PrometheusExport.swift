import CoreMetrics
import Prometheus

/// Service metrics and the fleet's gauges (`FleetMetrics`) in one Prometheus registry of their own, rendered in the
/// text format for `GET /metrics`.
public struct PrometheusExport: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: DescribedMetricsFactory
    private let fleetGauges: FleetGauges

    public init() {
        registry = PrometheusCollectorRegistry()
        var base = PrometheusMetricsFactory(registry: registry)
        // Snapshot builds take milliseconds to a few hundred; apply lag is dominated by the producers' clocks.
        base.durationHistogramBuckets["miner_index_snapshot_build_seconds"] = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        ]
        base.durationHistogramBuckets["miner_index_apply_lag_seconds"] = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
            .seconds(30), .seconds(60),
        ]
        factory = DescribedMetricsFactory(base: base, descriptions: ServiceMetrics.descriptions)
        fleetGauges = FleetGauges(registry: registry)
    }

    /// The service's metrics and, with a reading, the fleet's gauges set to it.
    public func render(fleet: FleetMetrics.Reading? = nil) -> [UInt8] {
        guard let fleet else { return registry.emitToBuffer() }
        return fleetGauges.render(fleet)
    }
}

/// swift-prometheus's factory, with a `# HELP` line for every metric it knows a description of: Prometheus's
/// linter (`promtool check metrics`) requires one, and the plain factory writes none. A label is always made the
/// same way, described or not, because the registry refuses one name with two help texts.
public struct DescribedMetricsFactory: MetricsFactory {
    public let base: PrometheusMetricsFactory
    /// Help text by metric name.
    public let descriptions: [String: String]

    public init(base: PrometheusMetricsFactory, descriptions: [String: String]) {
        self.base = base
        self.descriptions = descriptions
    }

    private func descriptor(_ label: String) -> MetricNameDescriptor? {
        descriptions[label].map { MetricNameDescriptor(metricName: label, unitName: "", helpText: $0) }
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        guard let descriptor = descriptor(label) else { return base.makeCounter(label: label, dimensions: dimensions) }
        return base.registry.makeCounter(descriptor: descriptor, labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)])
        -> any FloatingPointCounterHandler
    {
        guard let descriptor = descriptor(label) else {
            return base.makeFloatingPointCounter(label: label, dimensions: dimensions)
        }
        return base.registry.makeCounter(descriptor: descriptor, labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard let descriptor = descriptor(label) else {
            return base.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
        }
        guard aggregate else { return base.registry.makeGauge(descriptor: descriptor, labels: dimensions) }
        return base.registry.makeValueHistogram(
            descriptor: descriptor, labels: dimensions,
            buckets: base.valueHistogramBuckets[label] ?? base.defaultValueHistogramBuckets)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        guard let descriptor = descriptor(label) else { return base.makeMeter(label: label, dimensions: dimensions) }
        return base.registry.makeGauge(descriptor: descriptor, labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        guard let descriptor = descriptor(label) else { return base.makeTimer(label: label, dimensions: dimensions) }
        return base.registry.makeDurationHistogram(
            descriptor: descriptor, labels: dimensions,
            buckets: base.durationHistogramBuckets[label] ?? base.defaultDurationHistogramBuckets)
    }

    public func destroyCounter(_ handler: any CounterHandler) { base.destroyCounter(handler) }
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        base.destroyFloatingPointCounter(handler)
    }
    public func destroyRecorder(_ handler: any RecorderHandler) { base.destroyRecorder(handler) }
    public func destroyMeter(_ handler: any MeterHandler) { base.destroyMeter(handler) }
    public func destroyTimer(_ handler: any TimerHandler) { base.destroyTimer(handler) }
}
