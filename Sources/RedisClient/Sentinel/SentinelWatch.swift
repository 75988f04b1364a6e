import Logging

/// Listens to the sentinels' `+switch-master` announcements and makes a pool's connections
/// reconnect (to the new master) as soon as a failover of its master completes.
///
/// Without it a connection would stay on the old master until that server is demoted (which
/// Sentinel does some seconds later) and its writes in between would be lost. The watch runs
/// on its own subscription connection to any sentinel (the next one after a failure); after
/// resubscribing it asks for a reconnect anyway, since an announcement may have been missed.
final class SentinelWatch: Sendable {
    private let subscription: RedisSubscription
    private let task: Task<Void, Never>

    init(
        sentinels: [RedisEndpoint], masterName: String, template: RedisConfiguration, signal: ReconnectSignal,
        logger: Logger, metrics: ClientMetrics
    ) {
        let configuration = RedisConfiguration(
            endpoint: sentinels[0], connectTimeout: template.connectTimeout, commandTimeout: template.commandTimeout,
            initialReconnectDelay: template.initialReconnectDelay, maxReconnectDelay: template.maxReconnectDelay,
            tls: template.tls)
        let subscription = RedisSubscription(
            configuration: configuration, channels: ["+switch-master"], patterns: [], bufferSize: 100,
            healthCheckInterval: .seconds(5), logger: logger, metrics: metrics,
            resolver: RotatingEndpoints(nodes: EndpointList(sentinels)))
        self.subscription = subscription
        task = Task {
            for await event in subscription {
                switch event {
                case .message:
                    // "<master name> <old ip> <old port> <new ip> <new port>"
                    guard let text = event.text, text.split(separator: " ").first.map(String.init) == masterName
                    else { continue }
                    logger.info(
                        "Sentinel announced a new master",
                        metadata: ["master_name": "\(masterName)", "switch": "\(text)"])
                    signal.bump()
                case .subscribed(afterReconnect: true):
                    signal.bump()
                default:
                    continue
                }
            }
        }
    }

    /// Stops listening.
    func stop() {
        subscription.close()
        task.cancel()
    }
}
