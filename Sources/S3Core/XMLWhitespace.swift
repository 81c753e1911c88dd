extension UInt8 {
    /// XML's white space (XML 1.0 §2.3), every S3 document's separator and the padding
    /// trimmed from element text:
    ///
    ///     S ::= (#x20 | #x9 | #xD | #xA)+
    public var isXMLWhitespace: Bool {
        self == 0x20 || self == 0x09 || self == 0x0D || self == 0x0A
    }
}
