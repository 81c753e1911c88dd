import Audit
import Foundation
import Logging
import NIOCore
import S3Core

/// The end of an exchange, read from its outcome in one place: the decision, the error
/// code, the audit record and the log line cannot disagree.
extension Exchange {
    var operation: S3Operation? { facts.operation ?? classified?.operation }
    var address: S3Address? { facts.address ?? classified?.address }
    var outcome: ExchangeOutcome? { machine.outcome }

    /// What became of the request: the policy's outcome when it decided (a denial
    /// included); `refused` when a gateway phase refused it otherwise; `allow` for requests
    /// the gateway let through (whatever the upstream then answered).
    var decision: AuditDecision {
        let refused = outcome?.refusingPhase != nil
        if let decision = facts.decision {
            if case .deny = decision.outcome { return .deny }
            return refused ? .refused : AuditDecision(decision.outcome)
        }
        return refused ? .refused : .allow
    }

    /// The request's audit record, at the end of its exchange.
    func auditRecord(endedAt: Date, now: NIODeadline) -> AuditRecord {
        var record = AuditRecord(time: AuditTimestamp(endedAt), requestId: requestId, method: head.method.rawValue,
                                 operation: operation?.name ?? "Unknown", decision: decision)
        if let policyDecision = facts.decision { record.setPolicyDecision(policyDecision) }
        record.decision = decision
        record.refusedIn = outcome?.refusingPhase?.rawValue
        record.upstreamRequestId = upstreamRequestId
        record.clientAddress = clientAddress
        record.principal = facts.identity?.principal
        record.accessKeyId = facts.accessKeyId
        record.bucket = address?.bucket
        record.key = address?.key
        // As the upstream got them; for a refused request, as the client sent them.
        record.setHeaders(prepared?.objectFields ?? clientHeaders)
        record.status = status
        record.errorCode = outcome?.errorCode
        if let operation, let target = classified?.target {
            record.uploadId = clientUploadId ?? AuditRecord.uploadId(of: operation, target: target)
        }
        record.uploadBinding = facts.uploadBinding?.state.rawValue
        record.uploadInitiator = facts.uploadBinding?.initiator
        record.bytesIn = Int64(bytesIn)
        record.bytesOut = Int64(bytesOut)
        record.durationMs = (now - started).nanoseconds / 1_000_000
        return record
    }

    /// The request's log line (`info`, message `request`).
    func logMetadata(now: NIODeadline) -> Logger.Metadata {
        // Values given as they are (`.string`), not interpolated: an interpolation makes a
        // new string of each, and this runs for every request at `info`.
        var metadata = Logger.Metadata(minimumCapacity: 18)
        metadata["request_id"] = .string(requestId)
        metadata["method"] = .string(head.method.rawValue)
        metadata["status"] = .string(status.map(String.init) ?? "-")
        metadata["decision"] = .string(decision.rawValue)
        metadata["bytes_in"] = .string(String(bytesIn))
        metadata["bytes_out"] = .string(String(bytesOut))
        metadata["duration_ms"] = .string(String((now - started).nanoseconds / 1_000_000))
        // The path as sent, never the query: a presigned URL's query carries its signature.
        metadata["path"] = .string(String(decoding: head.uri.utf8.prefix { $0 != UInt8(ascii: "?") }, as: UTF8.self))
        if let operation { metadata["operation"] = .string(operation.name) }
        if let address { metadata["resource"] = .string(address.resource) }
        if prepared != nil || facts.identity != nil {
            metadata["principal"] = .string(facts.identity?.principal ?? "anonymous")
        }
        if let accessKeyId = facts.accessKeyId { metadata["access_key_id"] = .string(accessKeyId) }
        if let accessRule = facts.decision?.accessRule { metadata["access_rule"] = .string(accessRule) }
        if let rules = facts.decision?.matchedRules, !rules.isEmpty {
            metadata["rules"] = .string(rules.joined(separator: ","))
        }
        if let code = outcome?.errorCode { metadata["error"] = .string(code) }
        if let phase = outcome?.refusingPhase { metadata["refused_in"] = .string(phase.rawValue) }
        if let upstreamRequestId { metadata["upstream_request_id"] = .string(upstreamRequestId) }
        // W3C Trace Context (passed upstream unchanged): joins this line to the client's trace.
        if let traceparent = head.headers.first(name: "traceparent") { metadata["traceparent"] = .string(traceparent) }
        return metadata
    }

    /// Who was refused at authentication or denied by the policy, and why
    /// (`obsgate_denials_by_principal_total`): a principal of the credentials file, `unknown`
    /// for a key it does not hold, `anonymous` for an unsigned request. nil otherwise.
    var denial: (principal: String, reason: GatewayMetrics.DenialReason)? {
        let accessKeyId = facts.accessKeyId
        let principal = facts.identity?.principal
            ?? accessKeyId.map { preparer.credentials.identity(forAccessKey: $0)?.principal ?? "unknown" }
            ?? "anonymous"
        if decision == .deny { return (principal, .policy) }
        guard outcome?.refusingPhase == .authenticate else { return nil }
        return (principal, GatewayMetrics.DenialReason(authenticationError: outcome?.errorCode, signed: accessKeyId != nil))
    }

    /// What the exchange's span says of it (its trace, `tracing.otlp`): what the log line
    /// and the audit record say, by the same names.
    var spanAttributes: [(String, String)] {
        var attributes = [("obsgate.request_id", requestId), ("obsgate.decision", decision.rawValue)]
        if let operation { attributes.append(("obsgate.operation", operation.name)) }
        if let principal = facts.identity?.principal { attributes.append(("obsgate.principal", principal)) }
        if let rule = facts.decision?.deniedBy ?? facts.decision?.matchedRules.first ?? facts.decision?.accessRule {
            attributes.append(("obsgate.rule", rule))
        }
        if let bucket = address?.bucket { attributes.append(("obsgate.bucket", bucket)) }
        if let code = outcome?.errorCode { attributes.append(("obsgate.error_code", code)) }
        if let phase = outcome?.refusingPhase { attributes.append(("obsgate.refused_in", phase.rawValue)) }
        return attributes
    }

    /// `192.0.2.7:50121` or `[2001:db8::7]:50121`, as audit records write a client address.
    static func auditAddress(_ address: SocketAddress?) -> String? {
        guard let address, let ip = address.ipAddress, let port = address.port else { return nil }
        if case .v6 = address { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }
}
