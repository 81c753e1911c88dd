import NIOHTTP1
import S3Core

extension HTTPHeaders {
    /// NIO's header block of the fields, in their order, grown once.
    init(_ fields: HeaderFields) {
        self.init()
        reserveCapacity(fields.count)
        for field in fields { add(name: field.name, value: field.value) }
    }
}

extension HeaderFields {
    /// The fields of NIO's header block, in their order, in one array grown once.
    init(_ headers: HTTPHeaders) {
        self.init()
        reserveCapacity(headers.count)
        for field in headers { add(field.name, field.value) }
    }
}
