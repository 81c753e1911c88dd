import NIOCore

/// The open client connections, counted in total and per source address against
/// `limits.max_connections` and `limits.max_connections_per_address`: a client that opens
/// connections until the gateway's file descriptors run out is refused before it gets
/// there. Shutdown closes what the ledger holds.
struct ConnectionLedger {
    /// Which cap a refused connection met (the `limit` label of the refusal metric).
    enum Refusal: String, CaseIterable {
        case total
        case perAddress = "per_address"
    }

    let maxTotal: Int
    let maxPerAddress: Int
    private var open: [ObjectIdentifier: (channel: any Channel, address: String)] = [:]
    private var perAddress: [String: Int] = [:]

    init(maxTotal: Int, maxPerAddress: Int) {
        self.maxTotal = maxTotal
        self.maxPerAddress = maxPerAddress
    }

    var channels: [any Channel] { open.values.map(\.channel) }
    var count: Int { open.count }

    /// Counts the connection in, or says which cap it would exceed (it is then not counted).
    mutating func admit(_ channel: any Channel, from address: String) -> Refusal? {
        if open.count >= maxTotal { return .total }
        if perAddress[address, default: 0] >= maxPerAddress { return .perAddress }
        open[ObjectIdentifier(channel)] = (channel, address)
        perAddress[address, default: 0] += 1
        return nil
    }

    /// The connection closed.
    mutating func remove(_ channel: any Channel) {
        guard let entry = open.removeValue(forKey: ObjectIdentifier(channel)) else { return }
        let left = perAddress[entry.address, default: 1] - 1
        perAddress[entry.address] = left > 0 ? left : nil
    }

    /// The key a connection is counted under: its peer's IP address.
    static func address(of channel: any Channel) -> String {
        channel.remoteAddress?.ipAddress ?? "unknown"
    }
}
