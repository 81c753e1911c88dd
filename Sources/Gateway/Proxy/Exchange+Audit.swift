import Audit
import Foundation
import NIOCore
import S3Core

extension Exchange {
    var operation: S3Operation? { facts.operation ?? classified?.operation }
    var address: S3Address? { facts.address ?? classified?.address }

    /// What became of the request, for its audit record, log line and metrics: the policy's
    /// outcome when it decided (a denial included); `refused` when a gateway phase refused
    /// it otherwise; `allow` for requests the gateway let through (whatever the upstream
    /// then answered).
    var decision: AuditDecision {
        if let decision = facts.decision {
            if case .deny = decision.outcome { return .deny }
            return refusedByGateway ? .refused : AuditDecision(decision.outcome)
        }
        return refusedByGateway ? .refused : .allow
    }

    /// The request's audit record, at the end of its exchange.
    func auditRecord(endedAt: Date) -> AuditRecord {
        var record = AuditRecord(time: AuditTimestamp(endedAt), requestId: requestId, method: head.method.rawValue,
                                 operation: operation?.name ?? "Unknown", decision: decision)
        if let policyDecision = facts.decision { record.setPolicyDecision(policyDecision) }
        record.decision = decision
        record.upstreamRequestId = upstreamRequestId
        record.clientAddress = clientAddress
        record.principal = facts.identity?.principal
        record.accessKeyId = facts.accessKeyId
        record.bucket = address?.bucket
        record.key = address?.key
        // As the upstream got them; for a refused request, as the client sent them.
        record.setHeaders(prepared?.objectFields ?? clientHeaders)
        record.status = status
        record.errorCode = errorCode
        if let operation, let target = classified?.target {
            record.uploadId = uploadIdCollector?.uploadId ?? AuditRecord.uploadId(of: operation, target: target)
        }
        record.bytesIn = Int64(bytesIn)
        record.bytesOut = Int64(bytesOut)
        record.durationMs = (NIODeadline.now() - started).nanoseconds / 1_000_000
        return record
    }

    /// `192.0.2.7:50121` or `[2001:db8::7]:50121`, as audit records write a client address.
    static func auditAddress(_ address: SocketAddress?) -> String? {
        guard let address, let ip = address.ipAddress, let port = address.port else { return nil }
        if case .v6 = address { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }
}
