/// Header names of the S3 dialect, lowercase.
public enum S3HeaderName {
    public static let authorization = "authorization"
    public static let host = "host"
    public static let date = "date"
    public static let contentType = "content-type"
    public static let contentMD5 = "content-md5"
    public static let contentLength = "content-length"
    public static let contentEncoding = "content-encoding"
    public static let amzDate = "x-amz-date"
    public static let contentSHA256 = "x-amz-content-sha256"
    public static let decodedContentLength = "x-amz-decoded-content-length"
    public static let trailer = "x-amz-trailer"
    public static let securityToken = "x-amz-security-token"
    public static let copySource = "x-amz-copy-source"
    public static let storageClass = "x-amz-storage-class"
    public static let serverSideEncryption = "x-amz-server-side-encryption"
    public static let sseKMSKeyId = "x-amz-server-side-encryption-aws-kms-key-id"
    public static let websiteRedirectLocation = "x-amz-website-redirect-location"
    public static let checksumPrefix = "x-amz-checksum-"
    public static let prefix = "x-amz-"
}

/// Header names of the OBS dialect, lowercase.
public enum OBSHeaderName {
    public static let date = "x-obs-date"
    public static let copySource = "x-obs-copy-source"
    public static let storageClass = "x-obs-storage-class"
    public static let securityToken = "x-obs-security-token"
    public static let prefix = "x-obs-"
}
