import Logging
import OTel
import ServiceLifecycle
import Synchronization
import Tracing

/// The tracer of `tracing.otlp` and its OTLP/HTTP exporter (swift-otel), owned by one
/// gateway: not bootstrapped as the process's global tracer, so several gateways (tests)
/// each have their own. Spans queue until `start()` runs the exporter; `shutdown()` exports
/// what is queued, then stops it.
final class TracingBackend: Sendable {
    let tracer: any Tracer
    private let services: ServiceGroup
    private let running = Mutex<Task<Void, any Error>?>(nil)

    init(_ settings: GatewayConfiguration.OTLPTracing, logger: Logger) throws {
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        configuration.propagators = [.traceContext]
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.otlpExporter.endpoint = settings.endpoint
        configuration.traces.batchSpanProcessor.scheduleDelay = .milliseconds(settings.exportDelayMilliseconds)
        if let sampler = OTel.Configuration.TracesConfiguration.SamplerConfiguration.parentBasedTraceIDRatio(ratio: settings.sampleRatio) {
            configuration.traces.sampler = sampler
        }
        // Metrics and logs stay with swift-metrics/Prometheus and the gateway's own log.
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        tracer = backend.factory
        services = ServiceGroup(services: [backend.service], gracefulShutdownSignals: [], logger: logger)
    }

    func start() {
        running.withLock { task in
            guard task == nil else { return }
            task = Task { [services] in try await services.run() }
        }
    }

    func shutdown() async {
        await services.triggerGracefulShutdown()
        _ = try? await running.withLock { $0 }?.value
    }
}
