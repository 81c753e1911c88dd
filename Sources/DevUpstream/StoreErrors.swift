import S3Core

/// The S3 errors only a store answers (the gateway passes them through from its upstream),
/// with the codes and statuses S3 uses.
extension S3Error {
    static func noSuchKey(_ key: String) -> S3Error {
        S3Error(code: "NoSuchKey", message: "The specified key does not exist.", status: 404,
                details: [("Key", key)])
    }
    static func bucketNotEmpty(_ bucket: String) -> S3Error {
        S3Error(code: "BucketNotEmpty", message: "The bucket you tried to delete is not empty", status: 409,
                details: [("BucketName", bucket)])
    }
    static func bucketAlreadyOwnedByYou(_ bucket: String) -> S3Error {
        S3Error(code: "BucketAlreadyOwnedByYou",
                message: "Your previous request to create the named bucket succeeded and you already own it.",
                status: 409, details: [("BucketName", bucket)])
    }
    static func invalidBucketName(_ bucket: String) -> S3Error {
        S3Error(code: "InvalidBucketName", message: "The specified bucket is not valid.", status: 400,
                details: [("BucketName", bucket)])
    }
    static func invalidPart(_ message: String) -> S3Error {
        S3Error(code: "InvalidPart", message: message, status: 400)
    }
    static func invalidPartOrder() -> S3Error {
        S3Error(code: "InvalidPartOrder",
                message: "The list of parts was not in ascending order. Parts must be ordered by part number.",
                status: 400)
    }
    static func entityTooSmall(partNumber: Int) -> S3Error {
        S3Error(code: "EntityTooSmall", message: "Your proposed upload is smaller than the minimum allowed object size.",
                status: 400, details: [("PartNumber", String(partNumber))])
    }
    static func invalidRange(objectSize: Int) -> S3Error {
        S3Error(code: "InvalidRange", message: "The requested range is not satisfiable", status: 416,
                details: [("ActualObjectSize", String(objectSize))])
    }
    static func preconditionFailed(_ condition: String) -> S3Error {
        S3Error(code: "PreconditionFailed", message: "At least one of the pre-conditions you specified did not hold",
                status: 412, details: [("Condition", condition)])
    }
}
