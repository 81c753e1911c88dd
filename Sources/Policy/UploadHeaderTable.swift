/// A value per upload header.
///
/// Every upload reads and sets a handful of these. A dictionary keyed by `UploadHeader`
/// hashed the header's raw-value string at every lookup. Here each header has a slot
/// (its place in `UploadHeader`) holding where its value is in a plain array: a lookup is
/// two reads, and the table is small to copy (the policy copies it to apply defaults).
public struct UploadHeaderTable<Value> {
    /// One slot per `UploadHeader` case (UploadHeaderTableTests checks the count): 0 for
    /// no value, else 1 + the value's index in `values`.
    private typealias Slots = InlineArray<12, UInt8>
    static var slotCount: Int { Slots.count }
    private var slots = Slots(repeating: 0)
    /// Values in the order they were first set; a removed header's value stays behind,
    /// unreachable, until the table is dropped (a request's tables live as long as it).
    private var values: [Value] = []

    public init() {}

    public subscript(_ header: UploadHeader) -> Value? {
        get {
            let position = slots[header.slot]
            return position == 0 ? nil : values[Int(position) - 1]
        }
        set {
            let position = slots[header.slot]
            switch (newValue, position) {
            case (nil, _):
                slots[header.slot] = 0
            case (let value?, 0):
                values.append(value)
                slots[header.slot] = UInt8(values.count)
            case (let value?, _):
                values[Int(position) - 1] = value
            }
        }
    }

    /// The headers that have a value, in `UploadHeader`'s order.
    public var entries: [(header: UploadHeader, value: Value)] {
        UploadHeader.allCases.compactMap { header in self[header].map { (header, $0) } }
    }
}

extension UploadHeaderTable: Equatable where Value: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        UploadHeader.allCases.allSatisfy { lhs[$0] == rhs[$0] }
    }
}

extension UploadHeaderTable: Sendable where Value: Sendable {}

extension UploadHeader {
    /// The header's place in `allCases`.
    var slot: Int {
        switch self {
        case .storageClass: 0
        case .serverSideEncryption: 1
        case .kmsKeyId: 2
        case .websiteRedirectLocation: 3
        case .sseCustomerAlgorithm: 4
        case .sseCustomerKey: 5
        case .sseCustomerKeyMD5: 6
        case .copySourceSSECustomerAlgorithm: 7
        case .copySourceSSECustomerKey: 8
        case .copySourceSSECustomerKeyMD5: 9
        case .acl: 10
        case .metadataDirective: 11
        }
    }
}
